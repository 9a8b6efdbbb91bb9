"""Serving the emulator over real HTTP: a threaded Werkzeug server in a background thread."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import WSGIRequestHandler

from ...config import Config
from ...errors import UsageError
from ...net.listen import listen
from ...state.clock import OffsetClock, is_manual
from ..settings import load_config
from .app import Emulator
from .settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

log = logging.getLogger("murano_sim.emulator")


class _RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, logging to our logger at debug level instead of stderr."""

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - Werkzeug's signature
        log.debug("%s - %s", self.address_string(), message % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if getattr(self.server, "log_requests", False):  # the standalone server: one line per request
            path = self.path.split("?", 1)[0]
            print(f"{self.command} {path} {code}", file=sys.stderr, flush=True)
        else:
            super().log_request(code, size)


class EmulatorServer:
    """A running HTTP server for an Emulator; `url` is its base URL. Use as a context manager."""

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0, *,
                 app: Callable[..., Any] | None = None, log_requests: bool = False) -> None:
        self.emulator = emulator
        self._server = listen(host, port, app or emulator.wsgi_app, _RequestHandler)
        self._server.daemon_threads = True  # type: ignore[attr-defined]  # a ThreadingMixIn server
        self._server.log_requests = log_requests  # type: ignore[attr-defined]
        bound = self._server.server_address
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{bound[1]}"
        self._owns_ticker = not is_manual(emulator.clock)  # a manual clock moves only on advance()
        if self._owns_ticker:
            emulator.start_ticker()
        # A short poll interval makes shutdown() prompt.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="murano-sim-emulator-http", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        if self._thread is None:
            return
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        self._thread = None  # type: ignore[assignment]  # shut down: join() only once
        if self._owns_ticker:
            self.emulator.stop_ticker()

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"EmulatorServer({self.url})"


def serve(emulator: Emulator, host: str = "127.0.0.1", port: int = 0, *, control: bool = False,
          log_requests: bool = False) -> EmulatorServer:
    """Start serving `emulator` over HTTP in a background thread; `control`: with the control
    plane under /_emulator/ (as the standalone `twilio-emulator` serves it)."""
    from .control_plane import Standalone

    remote = bool(emulator.config.section("emulator").get("control_remote"))
    app = Standalone(emulator, remote=remote) if control else None
    return EmulatorServer(emulator, host, port, app=app, log_requests=log_requests)


def demo_credentials_line(config: Config) -> str | None:
    """The line that tells a client which credentials to use, when they are the built-in demo
    ones (not secrets); None for configured credentials, which are never printed."""
    twilio = config.services["twilio"]
    if (twilio.get("AccountSid"), twilio.get("AuthToken")) != (DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN):
        return None
    return f"credentials: AccountSid {DEMO_ACCOUNT_SID} AuthToken {DEMO_AUTH_TOKEN} (built-in demo account)"


def main_serve(
    config: Config | str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 8470,
    state_path: str | os.PathLike[str] | None = None,
) -> int:
    """`murano-sim twilio-emulator`: serve in real time until SIGINT/SIGTERM; first stdout line is the URL."""
    cfg = load_config(config)
    emulator = Emulator(cfg, clock=OffsetClock(), state_path=state_path)
    try:
        server = serve(emulator, host, port, control=True, log_requests=True)
    except UsageError:
        emulator.close()
        raise
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(server.url, flush=True)
        line = demo_credentials_line(cfg)
        if line:
            print(line, flush=True)
        while not stop.wait(0.5):  # a timed wait lets the signal handler run promptly
            pass
    finally:
        server.shutdown()
        emulator.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
