"""Serving the emulator over real HTTP: a threaded Werkzeug server in a background thread."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from ...errors import UsageError
from ...net.keepalive import KeepAliveHandler
from ...net.listen import BackgroundServer
from ...state.clock import OffsetClock, is_manual
from ...state.ticker import Ticker
from .app import Emulator
from .control_plane import Standalone
from .settings import SettingsSource, as_settings

log = logging.getLogger("murano_sim.emulator")


class _RequestHandler(KeepAliveHandler):
    """Werkzeug's handler, logging to our logger at debug level instead of stderr."""

    log_requests = False  # the standalone server's handler (below) prints one line per request

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - Werkzeug's signature
        log.debug("%s - %s", self.address_string(), message % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.log_requests:
            path = self.path.split("?", 1)[0]
            print(f"{self.command} {path} {code}", file=sys.stderr, flush=True)
        else:
            super().log_request(code, size)


class _LoggingHandler(_RequestHandler):
    log_requests = True


class EmulatorServer(BackgroundServer):
    """A running HTTP server for an Emulator; `url` is its base URL. Use as a context manager."""

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0, *,
                 app: Callable[..., Any] | None = None, log_requests: bool = False) -> None:
        self.emulator = emulator
        # The one ticker (as `serve` runs for every service): a manual clock moves only on advance().
        ticker = None
        if not is_manual(emulator.clock):
            ticker = Ticker(lambda: [emulator], emulator.ticker_defect, name="murano-sim-emulator-ticker")
        super().__init__(app or emulator.wsgi_app, host, port, name="murano-sim-emulator-http",
                         handler=_LoggingHandler if log_requests else _RequestHandler,
                         on_shutdown=[ticker.stop] if ticker is not None else ())
        if ticker is not None:
            ticker.start()


def use_public_url(services: Any, url: str) -> None:
    """The plugin's on_serve hook: a number's sms_url/voice_url given as "/path" is the served solution's."""
    emulator = services.backends.get("twilio")  # the local backend; none when Twilio is live
    if emulator is not None:
        emulator.base_url = url


def serve(emulator: Emulator, host: str = "127.0.0.1", port: int = 0, *, control: bool = False,
          log_requests: bool = False) -> EmulatorServer:
    """Start serving `emulator` over HTTP in a background thread; `control`: with the control
    plane under /_emulator/ (as the standalone `twilio-emulator` serves it)."""
    app = Standalone(emulator, remote=emulator.settings.control_remote) if control else None
    return EmulatorServer(emulator, host, port, app=app, log_requests=log_requests)


def demo_credentials_line(settings: SettingsSource) -> str | None:
    """The line that tells a client which credentials to use, when they are the built-in demo
    ones (not secrets); None for configured credentials, which are never printed."""
    options = as_settings(settings)
    if not options.demo_credentials:
        return None
    return f"credentials: AccountSid {options.account_sid} AuthToken {options.auth_token} (built-in demo account)"


def main_serve(
    settings: SettingsSource = None,
    host: str = "127.0.0.1",
    port: int = 8470,
    state_path: str | os.PathLike[str] | None = None,
    *,
    as_json: bool = False,
) -> int:
    """`murano-sim twilio-emulator`: serve in real time until SIGINT/SIGTERM; first stdout line is the URL
    (as_json: the only line is {"url", "credentials"}, credentials null unless the built-in demo ones).
    settings: the loaded config's TwilioSettings (the CLI handler loads the config)."""
    options = as_settings(settings)
    emulator = Emulator(options, clock=OffsetClock(), state_path=state_path)
    try:
        server = serve(emulator, host, port, control=True, log_requests=True)
    except UsageError:
        emulator.close()
        raise
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        line = demo_credentials_line(options)
        if as_json:
            demo = {"account_sid": options.account_sid, "auth_token": options.auth_token} if line else None
            print(json.dumps({"url": server.url, "credentials": demo}), flush=True)
        else:
            print(server.url, flush=True)
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
