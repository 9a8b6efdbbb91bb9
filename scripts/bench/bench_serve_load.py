"""`murano-sim serve` under many concurrent clients, beside a bare threaded Werkzeug hello world.

Both servers are started here, on loopback, as subprocesses (`python -m murano_sim serve` on a
generated solution; a `werkzeug.serving.run_simple(threaded=True)` app answering "hello").
Clients are threads of this process, each on its own keep-alive connection, sending requests
back to back for a fixed count. The two sides are measured interleaved in one run, so that both
see the same machine load. Only 2xx answers count: any other answer or error is printed and
fails the run (exit 1), so shedding load cannot pass for speed.

Mixes (serve side; the floor is always GET /):
  keystore  GET /ks (Keystore.get) and POST /ks (Keystore.set), alternating
  tsdb      POST /ts (Tsdb.write) and GET /ts (Tsdb.query, the last 10 points)
  devices   POST /onep:v1/stack/alias (a device write: data_in, whose handler sets a key) on the
            device API's port, each client its own device
  mixed     the three above in turn

Printed per mix and client count: requests/s of both and their ratio (goal >= 0.7), p50/p99 of
serve, and for the devices mix the device writes' median / the endpoints' median at the same
client count (goal <= 1.5). With REPEATS > 1, each ratio's median over the repeats closes the run.

--close: every client request carries `Connection: close`, so each pays a new connection as the
floor's always do (Werkzeug's development server closes every connection; serve keeps them alive
since branch ka21): the like-for-like comparison of the per-request work.
--all-cpus: serve with `serve.one_cpu: false` (its threads on every CPU, as before serve kept them on
one; solution/affinity.py): what running on one CPU is worth, beside the same floor.
Usage: PYTHONPATH=. python scripts/bench/bench_serve_load.py [--close] [--all-cpus] [REQUESTS_PER_CLIENT]
       [CLIENTS,...] [REPEATS]
"""

from __future__ import annotations

import http.client
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ENDPOINTS = """\
--#ENDPOINT GET /ks
return Keystore.get{key = "k" .. (request.parameters.n or "0")} or "none"

--#ENDPOINT POST /ks
Keystore.set{key = "k" .. (request.parameters.n or "0"), value = request.body.v or "x"}
return "ok"

--#ENDPOINT POST /ts
Tsdb.write{metrics = {temp = tonumber(request.parameters.n) or 1}}
return "ok"

--#ENDPOINT GET /ts
local r = Tsdb.query{metrics = {"temp"}, limit = 10}
return {n = #(r.values or {})}
"""

HANDLER = """\
--#EVENT device2 data_in
Keystore.set{key = "dev:" .. event.identity, value = event.payload[1].values.temp or "?"}
"""

FLOOR = """\
import sys
from werkzeug.serving import run_simple
from werkzeug.wrappers import Response
def app(environ, start_response):
    return Response("hello")(environ, start_response)
run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True)
"""


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(port: int) -> None:
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on {port} did not come up")


class Servers:
    """serve (solution + device API) and the floor, as subprocesses."""

    def __init__(self, folder: Path, all_cpus: bool = False) -> None:
        if all_cpus:
            (folder / "config.yaml").write_text("serve:\n  one_cpu: false\n")
        (folder / "endpoints").mkdir()
        (folder / "services").mkdir()
        (folder / "endpoints" / "api.lua").write_text(ENDPOINTS)
        (folder / "services" / "devices.lua").write_text(HANDLER)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.serve = subprocess.Popen(
            [sys.executable, "-m", "murano_sim", "serve", str(folder), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=folder,
        )
        assert self.serve.stdout is not None
        self.url = self.serve.stdout.readline().strip()
        self.devices = self.serve.stdout.readline().strip().split(": ", 1)[1]
        # serve logs every request on stdout, as on a terminal: read it all, or the pipe fills and serve blocks
        threading.Thread(target=self.serve.stdout.read, daemon=True).start()
        self.floor_port = _free_port()
        (folder / "floor.py").write_text(FLOOR)
        self.floor = subprocess.Popen([sys.executable, str(folder / "floor.py"), str(self.floor_port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        _wait_up(self.floor_port)

    def close(self) -> None:
        for proc in (self.serve, self.floor):
            proc.terminate()
            proc.wait(10)


Request = tuple[str, str, str, bytes, dict[str, str]]  # (port kind, method, path, body, headers)


def _activate(devices: str, identity: str) -> str:
    parts = urlsplit(devices)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("POST", "/provision/activate", body=f"id={identity}",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    token = response.read().decode()
    if response.status != 200:
        raise SystemExit(f"activate {identity}: {response.status} {token}")
    return token


def _plans(mix: str, client: int, token: str) -> list[Request]:
    json_h = {"Content-Type": "application/json"}
    form = {"Content-Type": "application/x-www-form-urlencoded", "X-Exosite-CIK": token}
    ks: list[Request] = [("url", "GET", f"/ks?n={client}", b"", {}),
                         ("url", "POST", f"/ks?n={client}", b'{"v": "1"}', json_h)]
    ts: list[Request] = [("url", "POST", f"/ts?n={client}", b"", {}), ("url", "GET", "/ts", b"", {})]
    dev: list[Request] = [("devices", "POST", "/onep:v1/stack/alias", f"temp={client}".encode(), form)]
    return {"keystore": ks, "tsdb": ts, "devices": dev, "mixed": ks + ts + dev}[mix]


def _run_clients(
    clients: int, per_client: int, make: Callable[[int], list[Request]], ports: dict[str, int], close: bool = False,
) -> tuple[float, dict[str, list[float]], list[str]]:
    """(seconds, latencies by kind, errors) for `clients` threads sending `per_client` requests each."""
    latencies: dict[str, list[float]] = {"url": [], "devices": []}
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        plan = make(i)
        conns = {kind: http.client.HTTPConnection("127.0.0.1", port, timeout=60) for kind, port in ports.items()}
        mine: dict[str, list[float]] = {"url": [], "devices": []}
        start.wait()
        for n in range(per_client):
            kind, method, path, body, headers = plan[n % len(plan)]
            t0 = time.perf_counter()
            try:
                sent = {**headers, "Connection": "close"} if close else headers
                conns[kind].request(method, path, body=body or None, headers=sent)
                response = conns[kind].getresponse()
                text = response.read()
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(f"{method} {path}: {exc!r}")
                conns[kind].close()
                continue
            mine[kind].append(time.perf_counter() - t0)
            if not 200 <= response.status < 300:
                with lock:
                    errors.append(f"{method} {path}: {response.status} {text[:80]!r}")
        with lock:
            for kind, values in mine.items():
                latencies[kind].extend(values)
        for conn in conns.values():
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, errors


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def main() -> int:
    args = [a for a in sys.argv[1:] if a not in ("--close", "--all-cpus")]
    close, all_cpus = "--close" in sys.argv[1:], "--all-cpus" in sys.argv[1:]
    per_client = int(args[0]) if len(args) > 0 else 50
    counts = [int(c) for c in (args[1] if len(args) > 1 else "16,64").split(",")]
    repeats = int(args[2]) if len(args) > 2 else 1
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}; {per_client} requests per client; "
          f"{'Connection: close on every request' if close else 'kept connections (where the server keeps them)'}; "
          f"serve on {'every CPU (serve.one_cpu: false)' if all_cpus else 'one CPU (the default)'}")
    failed = False
    ratios: dict[tuple[int, str], list[float]] = {}  # every pair's ratio, for the summary over repeats
    with tempfile.TemporaryDirectory() as tmp:
        servers = Servers(Path(tmp), all_cpus)
        try:
            serve_ports = {"url": urlsplit(servers.url).port or 0, "devices": urlsplit(servers.devices).port or 0}
            tokens = [_activate(servers.devices, f"bench-{i}") for i in range(max(counts))]
            floor_ports = {"url": servers.floor_port, "devices": servers.floor_port}
            for repeat in range(repeats):
                for clients in counts:
                    endpoint_median: float | None = None
                    for mix in ("keystore", "tsdb", "mixed", "devices"):
                        def floor(i: int) -> list[Request]:
                            return [("url", "GET", "/", b"", {})]
                        floor_s, _, floor_errors = _run_clients(clients, per_client, floor, floor_ports, close)
                        ours_s, lat, errors = _run_clients(
                            clients, per_client, lambda i, m=mix: _plans(m, i, tokens[i]), serve_ports, close)
                        total = clients * per_client
                        ratio = (total / ours_s) / (total / floor_s)
                        ratios.setdefault((clients, mix), []).append(ratio)
                        every = lat["url"] + lat["devices"]
                        line = (f"[{repeat + 1}] {clients:3d} clients {mix:8s}: serve {total / ours_s:7.0f}/s, "
                                f"floor {total / floor_s:7.0f}/s, ratio {ratio:.2f}; "
                                f"p50 {_pct(every, 0.5):6.1f} ms, p99 {_pct(every, 0.99):6.1f} ms")
                        if mix == "mixed" and lat["url"]:
                            endpoint_median = _pct(lat["url"], 0.5)
                        if mix in ("devices", "mixed") and lat["devices"] and endpoint_median:
                            devices = _pct(lat["devices"], 0.5) / endpoint_median
                            line += f"; device writes median / endpoints' {devices:.2f}"
                        print(line, flush=True)
                        for error in (errors + floor_errors)[:5]:
                            print(f"    error: {error}")
                        if errors or floor_errors:
                            failed = True
        finally:
            servers.close()
    if repeats > 1:  # one pair moves with the machine (the floor alone spreads +-15% between pairs): the median
        print(f"median ratio over {repeats} interleaved pairs (min-max):")
        for (clients, mix), values in ratios.items():
            print(f"  {clients:3d} clients {mix:8s}: {statistics.median(values):.2f} "
                  f"({min(values):.2f}-{max(values):.2f})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
