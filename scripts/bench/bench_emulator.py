"""Benchmark the local Twilio emulator.

1. N message creates through one requests.Session: in-process WSGIAdapter vs loopback HTTP.
2. Requests per second over loopback with the threaded server (several client threads).
3. The cost of one list page (PageSize 50) with 100 vs 100,000 stored messages (target ratio <= 1.2).

Run: python scripts/bench/bench_emulator.py [--creates N] [--big 100000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from murano_sim.services.twilio import Emulator, ManualClock, WSGIAdapter, serve  # noqa: E402
from murano_sim.services.twilio.models import MessageRequest  # noqa: E402

BASE = "http://twilio-emulator.invalid"
FORM = {"To": "+15551230000", "From": "+15005550006", "Body": "benchmark"}


def _session(emulator: Emulator, in_process: bool) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    if in_process:
        session.mount(BASE, WSGIAdapter(emulator.wsgi_app))
    session.auth = (emulator.primary_account_sid, emulator.config.services["twilio"]["AuthToken"])
    return session


def creates(n: int) -> None:
    results = {}
    for label, in_process in (("in-process adapter", True), ("loopback HTTP", False)):
        with Emulator(None, clock=ManualClock()) as emulator, serve(emulator) as server:
            base = BASE if in_process else server.url
            url = f"{base}/2010-04-01/Accounts/{emulator.primary_account_sid}/Messages.json"
            session = _session(emulator, in_process)
            session.post(url, data=FORM)  # warm up (connection, imports)
            start = time.perf_counter()
            for _ in range(n):
                session.post(url, data=FORM).raise_for_status()
            results[label] = (time.perf_counter() - start) / n
    for label, cost in results.items():
        print(f"create message, {label:18}: {cost * 1e6:8.0f} us/request")
    ratio = results["loopback HTTP"] / results["in-process adapter"]
    print(f"loopback / in-process cost ratio: {ratio:.2f}x (in-process is the default backend)")


def throughput(threads: int, per_thread: int) -> None:
    with Emulator(None, clock=ManualClock()) as emulator, serve(emulator) as server:
        url = f"{server.url}/2010-04-01/Accounts/{emulator.primary_account_sid}/Messages.json"

        def work() -> None:
            session = _session(emulator, False)
            for _ in range(per_thread):
                session.post(url, data=FORM).raise_for_status()

        workers = [threading.Thread(target=work) for _ in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
    total = threads * per_thread
    print(f"loopback threaded server: {total} creates from {threads} clients in {elapsed:.2f}s = "
          f"{total / elapsed:.0f} requests/s")


def page_cost(stored: int, repeats: int) -> float:
    with Emulator({"emulator": {"max_records": stored + 1000}}, clock=ManualClock()) as emulator:
        account = emulator.primary_account_sid
        backend = emulator._backend  # filling through the domain is faster than 100k HTTP requests
        request = MessageRequest(to=FORM["To"], from_=FORM["From"], body=FORM["Body"])
        for _ in range(stored):
            backend.create_message(account, request)
        session = _session(emulator, True)
        url = f"{BASE}/2010-04-01/Accounts/{account}/Messages.json?PageSize=50"
        first = session.get(url).json()
        next_url = BASE + first["next_page_uri"]
        samples = []
        for i in range(repeats):
            start = time.perf_counter()
            session.get(url if i % 2 else next_url).raise_for_status()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=1000, help="message creates per transport (default 1000)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    creates(args.creates)
    throughput(args.threads, max(1, args.creates // args.threads))
    small, big = page_cost(args.small, args.repeats), page_cost(args.big, args.repeats)
    print(f"list page (PageSize 50, first and next page): {args.small:>7} stored: {small * 1e6:8.0f} us")
    print(f"list page (PageSize 50, first and next page): {args.big:>7} stored: {big * 1e6:8.0f} us")
    print(f"page cost ratio {args.big}/{args.small}: {big / small:.2f} (target <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
