"""Serving a solution over real HTTP: a threaded Werkzeug server, in the background or as `murano-sim serve`."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from types import FrameType
from typing import Any

from ..config import Config, check_live_credentials
from ..net.listen import BackgroundServer
from ..runtime import Runtime
from ..services.plugin import discover, load_attribute, loaded
from ..state import State
from . import servefile
from .affinity import pin_to_one_cpu
from .app import DEV_PREFIX, SolutionApp, SurfaceFactory
from .link import ProductService, link, parse_product
from .problems import report_problems
from .requestlog import SolutionLog
from .solution_config import config_for


class SolutionServer(BackgroundServer):
    """A solution served from a background thread; use as a context manager or call shutdown()."""

    def __init__(self, app: SolutionApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        # Stopping ends the surfaces' live streams, then open sockets (their `close` runs finish first).
        super().__init__(app, host, port, name="murano-sim-solution",
                         on_shutdown=[app.close_surfaces, app.close_watcher, app.websockets.close_all])


def serve_solution(
    solution_dir: str | os.PathLike[str],
    runtime: Runtime,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log: SolutionLog | None = None,
    surfaces: Iterable[SurfaceFactory] = (),
) -> SolutionServer:
    """Load a solution (ConfigError if it does not load) and serve it in a background thread.

    surfaces: what answers under /_murano-sim/, e.g. `(murano_sim.console.Console,)` for the console."""
    server = SolutionServer(SolutionApp(solution_dir, runtime, log, surfaces=surfaces), host, port)
    announce_url(runtime, server.url)
    start_lifecycles(runtime)
    return server


def announce_url(runtime: Runtime, url: str) -> None:
    """Tell every service that wants it where the solution is served (plugins' on_serve hook)."""
    services = runtime.platform
    for plugin in discover():
        hook = loaded(plugin.on_serve)
        if hook is not None and plugin.alias in services.by_alias:
            hook(services, url)


def service_listeners(services: Any) -> list[tuple[str, Callable[..., BackgroundServer]]]:
    """(label, factory(services, host, port)) for every extra port the present services open."""
    return [(label, load_attribute(reference))
            for plugin in discover() if plugin.alias in services.by_alias
            for label, reference in plugin.listeners.items()]


def start_lifecycles(runtime: Runtime) -> None:
    """On a clock that moves by itself, tickers run what becomes due (lifecycles and their
    callbacks, timers).

    The ticker, not the script's own API request, must deliver them: a callback to this
    solution waits for the runtime that the calling script holds.
    """
    runtime.platform.start_ticker()


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _on_stop_signals(stop: threading.Event) -> dict[int, Any]:
    """SIGINT/SIGTERM set `stop` (main thread only); returns the previous handlers.

    The handler only sets the event: nothing is raised into whatever the main thread is doing.
    A second signal while stopping ends the process at once (the default action), so a stop
    that hangs can always be cut short.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            for sig in _STOP_SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(signum)
        stop.set()

    return {sig: signal.signal(sig, handler) for sig in _STOP_SIGNALS}


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def main_serve(
    solution_dir: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8080,
    config_path: str | os.PathLike[str] | None = None,
    *,
    json_logs: bool = False,
    device_port: int = 0,
    state_path: str | os.PathLike[str] | None = None,
    product: str | None = None,
    surfaces: Iterable[SurfaceFactory] = (),
    ports: Mapping[str, int] | None = None,
    rate_limits: bool = True,
) -> int:
    """`murano-sim serve`: the base URL is the first stdout line, `devices: URL` (the device HTTP API)
    the second, then `product ALIAS: URL` if any, then the other service ports (`mqtt: URL`);
    serves until SIGINT/SIGTERM, then 0.

    state_path: the solution's state in a SQLite file (every service's data survives a restart).
    product: `PRODUCT_DIR[:ALIAS]`, a second solution the first subscribes to (link.py); it is served
    on its own port (`product ALIAS: URL`, the third line) and the device API serves its devices.
    surfaces: what answers under /_murano-sim/ (the CLI hands in the console).
    ports: a port per extra listener a service opens (label -> port; `device_port` is ports["devices"]).
    rate_limits: False (--no-rate-limit) turns them off; else config.yaml's serve.rate_limits, default on."""
    ports = {"devices": device_port, **(ports or {})}

    config = config_for(solution_dir, config_path)
    check_live_credentials(config)
    if (config.data.get("serve") or {}).get("one_cpu", True) is not False:
        pin_to_one_cpu()  # before any thread of serve's starts: each inherits the one CPU
    log = SolutionLog(json_lines=json_logs, secrets=config.secrets())
    stop = threading.Event()
    with ExitStack() as stack:
        linked = _linked_product(stack, product, host, json_logs, state_path, surfaces) if product else None
        runtime = stack.enter_context(_runtime(config, state_path, host_services=[linked[1]] if linked else ()))
        enforce = rate_limits and (config.data.get("serve") or {}).get("rate_limits", True) is not False
        app = SolutionApp(solution_dir, runtime, log, surfaces=surfaces, rate_limits=enforce, watch=True)
        if linked:
            link(app, linked[0].app, linked[1])
        start_lifecycles(runtime)
        previous = _on_stop_signals(stop)
        try:
            # Requests are served from daemon threads: one that hangs cannot hold up the exit.
            with ExitStack() as servers:
                server = servers.enter_context(SolutionServer(app, host, port))
                announce_url(runtime, server.url)
                # The services' own ports (the device API) serve the linked product's services if there is one.
                listening = linked[0].app.runtime.platform if linked else runtime.platform
                extra = [(label, servers.enter_context(start(listening, host, ports.get(label, 0))))
                         for label, start in service_listeners(listening)]
                print(server.url, flush=True)
                servefile.write(solution_dir, server.url)  # `murano-sim logs` in the folder finds it
                servers.callback(servefile.remove, solution_dir)
                # `devices: URL` second and `product ALIAS: URL` third, as documented; other ports after them
                extra.sort(key=lambda item: item[0] != "devices")
                for label, listener in extra[:1]:
                    print(f"{label}: {listener.url}", flush=True)
                if linked:
                    print(f"product {linked[1].alias}: {linked[0].url}", flush=True)
                for label, listener in extra[1:]:
                    print(f"{label}: {listener.url}", flush=True)
                for label, listener in extra:
                    note = getattr(listener, "note", None)  # e.g. the MQTT port's CA file
                    if note:
                        log.message(f"{label}: {note}")
                if linked:
                    _announce(linked[0].app, linked[0].app.log, linked[0].app.runtime.config)
                _announce(app, log, config)
                log.message(f"console: {server.url}{DEV_PREFIX}/")
                while not stop.wait(0.5):  # a timed wait lets the signal handler run promptly
                    pass
        finally:
            _restore_signals(previous)
    log.message("stopped")
    return 0


def _linked_product(
    stack: ExitStack, spec: str, host: str, json_logs: bool, state_path: str | os.PathLike[str] | None,
    surfaces: Iterable[SurfaceFactory] = (),
) -> tuple[SolutionServer, ProductService]:
    """The product of `--product DIR[:ALIAS]` served on a free port, with the service that exposes
    its operations to the application. Its state goes beside the application's (`STATE.ALIAS`)."""
    folder, alias = parse_product(spec)
    config = config_for(folder, None)
    check_live_credentials(config)
    runtime = stack.enter_context(_runtime(config, f"{state_path}.{alias}" if state_path else None))
    log = SolutionLog(json_lines=json_logs, secrets=config.secrets())
    server = stack.enter_context(SolutionServer(SolutionApp(folder, runtime, log, surfaces=surfaces), host, 0))
    announce_url(runtime, server.url)
    start_lifecycles(runtime)
    return server, ProductService(server.app, alias)


def _runtime(config: Config, state_path: str | os.PathLike[str] | None, **kwargs: Any) -> Runtime:
    """A Runtime on the state file, if any: a file whose rows do not decode is one UsageError."""
    if state_path is None:
        return Runtime(config, **kwargs)
    state = State(state_path)
    with state.restoring():
        return Runtime(config, state=state, **kwargs)


def _announce(app: SolutionApp, log: SolutionLog, config: Config) -> None:
    solution = app.solution
    backends = "".join(f"; {alias} backend {section['backend']}"  # the http services' (local or live)
                       for alias, section in sorted(config.services.items())
                       if isinstance(section, Mapping) and "backend" in section)
    log.message(
        f"serving {solution.root} ({solution.layout} layout) with config {config.source}{backends}",
        layout=solution.layout,
    )
    for endpoint in solution.endpoints:
        note = "" if endpoint.served else " (WebSocket)"
        log.message(f"endpoint {endpoint.method} {endpoint.path} -> {endpoint.file}:{endpoint.line}{note}")
    for (service, event), handler in sorted(solution.handlers.items()):
        trigger = f"POST {DEV_PREFIX}/events/{service}/{event}"
        log.message(f"event {service} {event} -> {handler.file}:{handler.line} (trigger: {trigger})")
    for warning in config.warnings:
        log.message(f"warning: {warning}", warning=warning)
    report_problems(log, solution)
