"""A device write's CPU cost in process: serve's app and the device API built as `serve` builds them.

The solution is bench_serve_load.py's (its endpoints and its `device2 data_in` handler, which sets a
key); one device is activated, then WSGI environs of `POST /onep:v1/stack/alias temp=N` are sent
to the device API's app (each built just before its write, outside the timed call). Prints µs of
CPU per write (best of the blocks) and a cProfile table of the last block; then the handler run
alone (the same event through trigger_event) and the device services alone (authenticate +
data_in, no handler), which split the write's cost.

Usage: PYTHONPATH=. python scripts/bench/profile_device_write.py [WRITES_PER_BLOCK] [BLOCKS] [console]
       [tottime|cumtime] [freeze|nogc]
  freeze: gc.freeze() once the app is built (start-up's objects are never traversed again); nogc: gc.disable()
  (what the garbage collector costs a write; serve itself does neither)
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

sys.path.insert(0, str(Path(__file__).parent))
import bench_serve_load as bench  # noqa: E402

from murano_sim.solution.server import SolutionApp, SolutionLog, _runtime, config_for, service_listeners  # noqa: E402


def _environ(path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    builder = EnvironBuilder(path=path, method="POST", data=body, headers=headers,
                             environ_base={"REMOTE_ADDR": "127.0.0.1"})
    return builder.get_environ()


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.isalpha()]
    per_block = int(args[0]) if args else 1000
    blocks = int(args[1]) if len(args) > 1 else 4
    sort = next((a for a in sys.argv[1:] if a in ("tottime", "cumtime")), "tottime")
    folder = Path(tempfile.mkdtemp())
    (folder / "endpoints").mkdir()
    (folder / "services").mkdir()
    (folder / "endpoints" / "api.lua").write_text(bench.ENDPOINTS)
    (folder / "services" / "devices.lua").write_text(bench.HANDLER)
    config = config_for(folder, None)
    log = SolutionLog(json_lines=False, secrets=config.secrets(), stream=io.StringIO())
    surfaces: tuple[Any, ...] = ()
    if "console" in sys.argv:
        from murano_sim.console.console import Console
        surfaces = (Console,)
    with _runtime(config, None) as runtime:
        # watch=True as serve builds it: a request does not scan the folder
        solution_app = SolutionApp(folder, runtime, log, surfaces=surfaces, rate_limits=True, watch=True)
        listeners = dict(service_listeners(runtime.platform))
        server = listeners["devices"](runtime.platform, "127.0.0.1", 0)
        try:
            app = server._server.app  # the WSGI app the listener serves (no socket in the loop)
            statuses: list[str] = []

            def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
                statuses.append(status)
                return lambda data: None

            form = {"Content-Type": "application/x-www-form-urlencoded"}
            token = b"".join(app(_environ("/provision/activate", b"id=bench-1", form), start_response)).decode()
            headers = {**form, "X-Exosite-CIK": token}

            def write(n: int) -> float:
                """One write's CPU seconds. Its environ is built just before, outside the time: thousands
                built in advance would make the heap, and so each garbage collection, larger than serve's."""
                environ = _environ("/onep:v1/stack/alias", f"temp={n % 100}".encode(), headers)
                start = time.thread_time()
                b"".join(app(environ, start_response))
                return time.thread_time() - start

            statuses.clear()
            for n in range(per_block):  # warm-up: the VM, caches
                write(n)
            if "freeze" in sys.argv:
                gc.freeze()
            if "nogc" in sys.argv:
                gc.disable()
            times = []
            profile = cProfile.Profile()
            for block in range(1, blocks + 1):
                if block == blocks:
                    profile.enable()
                times.append(sum(write(n) for n in range(per_block)) / per_block * 1e6)
            profile.disable()
            bad = [s for s in statuses if not s.startswith("204")]
            if bad:
                print(f"unexpected answers: {bad[:3]}", file=sys.stderr)
                return 1
            print(f"device write: {min(times[:-1] or times):.0f} us CPU (blocks: "
                  f"{', '.join(f'{t:.0f}' for t in times[:-1])}; profiled {times[-1]:.0f})")
            # The same event's handler run alone (the VM, Keystore.set, the log and console records):
            # the device write minus this is the device API's and the device services' own share.
            at = int(time.time() * 1_000_000)
            event = {"type": "data_in", "identity": "bench-1", "timestamp": at, "ip": "127.0.0.1",
                     "connection_id": "c" * 32, "payload": [{"timestamp": at, "values": {"temp": 5}}]}
            handler_times = []
            for _ in range(blocks):
                start = time.thread_time()
                for _ in range(per_block):
                    solution_app.trigger_event("device2", "data_in", event)
                handler_times.append((time.thread_time() - start) / per_block * 1e6)
            print(f"handler alone: {min(handler_times):.0f} us CPU; the device path's own share: "
                  f"{min(times[:-1] or times) - min(handler_times):.0f} us")
            # The device services' share on its own: authenticate + data_in (Device2's rows, Device v1's
            # observer) with the solution detached, so no handler runs.
            model, attached = runtime.platform.by_alias["device2"].model, runtime.platform.on_event
            runtime.platform.on_event = lambda *event: None
            service_times = []
            for _ in range(blocks):
                start = time.thread_time()
                for _ in range(per_block):
                    model.data_in(model.authenticate(token), {"temp": "5"}, ip="127.0.0.1", connection_id="c" * 32)
                service_times.append((time.thread_time() - start) / per_block * 1e6)
            runtime.platform.on_event = attached
            print(f"authenticate + data_in without a handler: {min(service_times):.1f} us CPU")
            stats = pstats.Stats(profile, stream=sys.stdout).sort_stats(sort)
            stats.print_stats(40)
            stats.print_stats("services/(device2?|registry|host)")  # the device services' own share
        finally:
            server.shutdown()
            solution_app.close_watcher()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
