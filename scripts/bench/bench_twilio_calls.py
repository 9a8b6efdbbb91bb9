"""Per-call cost of Twilio.postMessage from a Lua script (and through the Python service layer),
beside the same requests made with plain `requests` and with the official `twilio` SDK, all
against one loopback server in one run.

    python scripts/bench/bench_twilio_calls.py [--calls N] [--rounds R]

Targets: at most 1.5x plain requests.post, and no slower than the SDK; a Lua `Twilio.postMessage`
at most 0.8 of the SDK's messages.create (issue 21). Each variant is warmed up, the rounds interleave
the variants, and the median is reported with the spread (min-max) of the rounds beside it.

Hook for other variants (the Lua runtime adds `Twilio.postMessage` from a script this way):
`compare(calls, rounds, variants)` takes a mapping of label -> callable(n) that performs n
message sends; `main(extra_variants=fn)` lets `fn(base_url, config)` add variants to the run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from murano_sim import (  # noqa: E402
    Config,
    Runtime,  # noqa: E402
    load_config,
)
from murano_sim.services import load_services  # noqa: E402

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fedcba9876543210" * 2
TO, FROM, BODY = "+17635551234", "+16125550923", "Your device is in an error state."

Variant = Callable[[int], None]


def message_json(form: Mapping[str, str]) -> bytes:
    """A realistic Twilio message body (about 900 bytes), as the live API answers a create."""
    sid = "SM" + "0" * 32
    return json.dumps({
        "account_sid": ACCOUNT_SID, "api_version": "2010-04-01", "body": form.get("Body"),
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000", "date_sent": None,
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000", "direction": "outbound-api", "error_code": None,
        "error_message": None, "from": form.get("From"), "messaging_service_sid": None, "num_media": "0",
        "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"},
        "to": form.get("To"), "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
    }).encode()


def app(environ: dict[str, Any], start_response: Any) -> Any:
    request = Request(environ)
    return Response(message_json(request.form), status=201, mimetype="application/json")(environ, start_response)


def python_variants(base_url: str, config: Config) -> dict[str, Variant]:
    from twilio.rest import Client

    service = load_services(config)["twilio"]
    url = f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    form = {"To": TO, "From": FROM, "Body": BODY}
    session = requests.Session()
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = base_url

    runtime = Runtime(load_config({**config.data, "lua": {"max_instructions": 10**9, "timeout_seconds": 600}}))
    lua_script = (
        "local n = ... for i = 1, request.parameters.n do local out = Twilio.postMessage{"
        f"To = '{TO}', From = '{FROM}', Body = '{BODY}'"
        "} assert(out.status == 'queued', out.error) end"
    )

    def lua_postmessage(n: int) -> None:
        result = runtime.run(lua_script, {"parameters": {"n": n}})
        assert result.error is None and len(result.calls) == n, result.error

    def murano_sim(n: int) -> None:
        for _ in range(n):
            outcome = service.call("postMessage", {"To": TO, "From": FROM, "Body": BODY})
            assert outcome.value["status"] == "queued", outcome.value

    def plain_requests(n: int) -> None:
        for _ in range(n):
            requests.post(url, data=form, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=10).json()

    def requests_session(n: int) -> None:
        for _ in range(n):
            session.post(url, data=form, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=10).json()

    def twilio_sdk(n: int) -> None:
        for _ in range(n):
            client.messages.create(to=TO, from_=FROM, body=BODY)

    return {
        "murano-sim Lua Twilio.postMessage": lua_postmessage,
        "murano-sim Service.call": murano_sim,
        "requests.post": plain_requests,
        "requests.Session.post": requests_session,
        "twilio SDK messages.create": twilio_sdk,
    }


def compare(calls: int, rounds: int, variants: Mapping[str, Variant]) -> dict[str, float]:
    """Median per-call seconds of each variant; rounds interleave the variants to share any drift."""
    for perform in variants.values():
        perform(min(20, calls))  # warm-up: imports, first connections
    samples: dict[str, list[float]] = {label: [] for label in variants}
    for _ in range(rounds):
        for label, perform in variants.items():
            started = time.perf_counter()
            perform(calls)
            samples[label].append((time.perf_counter() - started) / calls)
    SPREAD.clear()
    SPREAD.update({label: (min(values), max(values)) for label, values in samples.items()})
    return {label: statistics.median(values) for label, values in samples.items()}


SPREAD: dict[str, tuple[float, float]] = {}  # label -> (min, max) per-call seconds of the last compare()


def report(costs: Mapping[str, float], subject: str = "murano-sim Service.call") -> list[str]:
    lines = [f"{label:<34} {cost * 1e3:8.3f} ms/call{_spread(label)}" for label, cost in costs.items()]
    mine = costs[subject]
    sdk_target = 0.8 if subject == "murano-sim Lua Twilio.postMessage" else 1.0
    for other, target in (("requests.post", 1.5), ("requests.Session.post", None),
                          ("twilio SDK messages.create", sdk_target)):
        if other in costs:
            goal = f"  (target <= {target:g})" if target is not None else ""
            lines.append(f"ratio {subject} / {other}: {mine / costs[other]:.2f}{goal}")
    return lines


def _spread(label: str) -> str:
    low, high = SPREAD.get(label, (None, None))
    return f"  (rounds {low * 1e3:.3f}-{high * 1e3:.3f})" if low is not None and high is not None else ""


def main(argv: list[str] | None = None,
         extra_variants: Callable[[str, Config], Mapping[str, Variant]] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="sends per variant per round (default 300)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, median reported (default 3)")
    args = parser.parse_args(argv)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    config = load_config({"services": {"twilio": {"backend": "live", "base_url": base_url,
                                                  "AccountSid": ACCOUNT_SID, "AuthToken": AUTH_TOKEN}}})
    try:
        variants = python_variants(base_url, config)
        if extra_variants is not None:
            variants.update(extra_variants(base_url, config))
        costs = compare(args.calls, args.rounds, variants)
    finally:
        server.shutdown()
        server.server_close()
    print(f"{args.calls} postMessage sends per variant, median of {args.rounds} rounds, loopback werkzeug server")
    print("\n".join(report(costs, "murano-sim Lua Twilio.postMessage")))
    print("\n".join(report(costs)[len(costs):]))
    return 0


if __name__ == "__main__":
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    raise SystemExit(main())
