"""The WSGI application that serves a solution: routing, Murano's request/response, contexts, reload."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestedRangeNotSatisfiable
from werkzeug.routing import Map, Rule
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from ..errors import ConfigError
from ..net import limits, local_surface
from ..runtime import Runtime
from ..runtime.request import build_request
from ..runtime.result import ScriptResult
from ..state import snapshots
from ..state.clock import epoch_seconds
from ..state.ids import new_id
from . import guards
from .gateway import (
    apply_cors,
    check_credential,
    cors_settings,
    credential,
    endpoint_scheme,
    is_preflight,
    preflight,
    unauthorized,
)
from .guards import BadResponse, RequestRefused
from .hotvm import EVENT_SLOT, SolutionVM
from .loader import Endpoint, EventHandler, Solution, load_solution
from .problems import report_problems
from .ratelimit import RateLimiter, solution_rate_limit, too_many_requests
from .requestlog import SolutionLog, script_records
from .requesturl import request_url
from .routes import RouteMatcher
from .turns import QueueFull
from .watcher import Watcher
from .websocket import WebSockets, is_upgrade, script_source

_log = logging.getLogger("murano_sim.solution")  # debug lines: `murano-sim -v`

# Routes of the local server itself, outside any solution's namespace.
DEV_PREFIX = "/_murano-sim"
_DEV_ROUTES = Map([Rule(f"{DEV_PREFIX}/events/<service>/<event>", endpoint="event", methods=["POST"])])

@dataclass(frozen=True)
class Execution:
    """One execution as the console shows it: what ran, what started it, what it did."""

    service: str  # "webservice" for an endpoint request
    event: str  # "GET /path" for an endpoint, else the handler's event
    file: str
    parameters: Any  # the endpoint's parameters, or the event's payload
    http: dict[str, Any] | None  # the HTTP request as received (method, path, headers, body), endpoints only
    result: ScriptResult
    duration_ms: float
    started_at: datetime


class Surface(Protocol):
    """A view served under /_murano-sim/ (the console): it answers its requests and closes its streams."""

    def handle(self, request: Request) -> Response: ...

    def close(self) -> None: ...


SurfaceFactory = Callable[["SolutionApp"], Surface]  # e.g. console.Console


# Static assets (Solution.assets): served for GET/HEAD paths no endpoint matches (endpoints win),
# as on Murano. The default asset folders are left out of reload snapshots.
ASSET_DIRS = ("files", "assets")



DEFAULT_RETRY_AFTER = 1  # serve.retry_after_seconds: the Retry-After of a 503 when the VM's queue is full


class SolutionApp:
    """Serves one solution directory through a Runtime; reloads it when any of its files change.

    Endpoints and event handlers run in the solution's one hot VM (see hotvm.py): globals persist
    between executions unless the solution's Config sets reuse_vm false; a reload gives a new
    environment (modules run again, init.lua does not).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        runtime: Runtime,
        log: SolutionLog | None = None,
        *,
        surfaces: Iterable[SurfaceFactory] = (),
        rate_limits: bool | None = None,
        watch: bool = False,
    ) -> None:
        """rate_limits: enforce --#RATELIMIT and the Webservice rate_limit; None: config.yaml's
        serve.rate_limits, else off (`murano-sim serve` turns them on unless --no-rate-limit).
        watch: reload when a file is saved, from a watcher thread (`murano-sim serve`), printing the
        loader's problems then; else (the pytest fixture) a request after an edit reloads first."""
        self.root = Path(root)
        self.runtime = runtime
        self.log = log or SolutionLog(secrets=runtime.config.secrets())
        self._lock = threading.Lock()
        self._snapshot = _snapshot(self.root)  # once; with a watcher, compared again only when its watch is in place
        self._scanned_at = time.monotonic()  # when the last scan started (without a watcher)
        self._solution: Solution | None = load_solution(self.root)  # a load error at start is the caller's
        self._load_error: str | None = None
        self.result_listeners: list[Callable[[ScriptResult], None]] = []  # every execution's result
        # Every execution with what started it (the console's Requests view): see Execution.
        self.execution_listeners: list[Callable[[Execution], None]] = []
        self.vm = SolutionVM(runtime, self._solution, notify=lambda line: self.log.message(line, error=line))
        runtime.platform.use_solution_configs(self._solution.service_configs)
        # Services' events (a timer fires, a device writes, ...) reach the handlers after the
        # execution that caused them, or at once when none is running on this thread.
        self._events: queue.SimpleQueue[tuple[str, str, Any]] = queue.SimpleQueue()
        self._executing = threading.local()
        runtime.platform.on_event = self._on_service_event
        runtime.platform.turn = self._service_turn  # a device write takes it before storing (ServiceHost.turn)
        self.product_aliases: set[str] = set()  # linked products' aliases (link.py): {product.id} handlers answer them
        # alias -> the linked solution that receives this solution's events for that alias (link.py)
        self._forwards: dict[str, SolutionApp] = {}
        serve = runtime.config.data.get("serve") or {}
        self.max_body_bytes: int = int(serve.get("max_body_bytes", limits.DEFAULT_MAX_BODY_BYTES))
        self.retry_after: int = int(serve.get("retry_after_seconds", DEFAULT_RETRY_AFTER))  # on a 503 when full
        self.websockets = WebSockets(
            runtime.platform.by_alias["websocket"].model, self._websocket_event,
            lambda: epoch_seconds(runtime.clock), self.log.message, self.max_body_bytes,
        )
        self.console_remote = bool(serve.get("console_remote", False))
        self.rate_limits = bool(serve.get("rate_limits", False)) if rate_limits is None else rate_limits
        self.rate_limiter = RateLimiter()
        # What answers under /_murano-sim/ (the console): handed in by whoever composes serve.
        self.surfaces: list[Surface] = [make(self) for make in surfaces]
        self._routes = RouteMatcher(self._solution.url_map)  # replaced when a reload brings a new route map
        self.watcher = Watcher(self.root, self._on_files_changed, ignore=ASSET_DIRS,
                               on_ready=self._on_watch_ready) if watch else None

    @property
    def solution(self) -> Solution:
        """The current solution (ConfigError if it no longer loads); without a watcher, reloaded
        first if a file changed.

        A request burst shares one scan: a scan that started after this thread's request arrived
        saw every edit finished before it, so the request does not scan again."""
        with self._lock:
            if self.watcher is None:
                arrived = getattr(self._executing, "arrived", None)
                if arrived is not None and self._scanned_at >= arrived:
                    snapshot = self._snapshot
                else:
                    self._scanned_at = time.monotonic()
                    snapshot = _snapshot(self.root)
                if snapshot != self._snapshot:
                    self._snapshot = snapshot
                    self._reload()
            if self._solution is None:
                raise ConfigError(self._load_error or "solution not loaded")
            return self._solution

    def _on_watch_ready(self) -> None:
        # A save between the load and the watch being in place (under load, that can be seconds) is caught here.
        with self._lock:
            if _snapshot(self.root) != self._snapshot:
                self._reload()

    def _on_files_changed(self, paths: set[str]) -> None:
        _log.debug("changed: %s", ", ".join(sorted(paths)))
        with self._lock:
            self._reload()

    def _reload(self) -> None:
        """Load the solution again (under self._lock) and say so, with every problem the loader found."""
        try:
            self._solution, self._load_error = load_solution(self.root), None
        except ConfigError as exc:
            self._solution, self._load_error = None, str(exc)
            self.log.message(f"reload failed: {exc}", error=str(exc))
            return
        self.vm.reload(self._solution)
        self.runtime.platform.use_solution_configs(self._solution.service_configs)
        self.log.message(f"reloaded {self.root}")
        report_problems(self.log, self._solution)

    def close_watcher(self) -> None:
        if self.watcher is not None:
            self.watcher.close()

    # -- WSGI -----------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        self._executing.arrived = time.monotonic()
        try:
            limits.check_length(request, self.max_body_bytes)  # before anything reads the body
            response = self.handle(request)
        except RequestRefused as refused:
            self.log.message(f"{request.method} {request.path} -> {refused.status}: {refused.reason}")
            response = _plain(refused.status, refused.reason)
        finally:
            self._executing.arrived = None  # events this thread delivers later scan for themselves
        return response(environ, start_response)

    def _surface(self, request: Request) -> Response:
        """The first surface's answer that is not a 404 (a 404 from the last one stands)."""
        response: Response | None = None
        for surface in self.surfaces:
            response = surface.handle(request)
            if response.status_code != 404:
                return response
        return response or local_surface.error(404, f"nothing is served at {request.path} (no console here)")

    def close_surfaces(self) -> None:
        """Ends what the surfaces hold open (the console's live streams)."""
        for surface in self.surfaces:
            surface.close()

    def reset(self) -> None:
        """A fresh state: every service back to its seed, a new environment, and init.lua runs again
        now, as a deploy runs it (its events reach their handlers when it ends)."""
        self.runtime.reset()
        self.vm.reset()
        self.rate_limiter.reset()
        self._start_vm()

    def _start_vm(self) -> None:
        """The environment loaded now (init.lua first, when pending), outside any request."""
        self._executing.depth = getattr(self._executing, "depth", 0) + 1
        try:
            self.vm.start()
        finally:
            self._executing.depth -= 1
        if not self._executing.depth:
            self.deliver_events()

    # -- named snapshots of the whole state (state/snapshots.py) ----------------------------------
    def save_snapshot(self, name: Any) -> dict[str, Any]:
        return self.runtime.services.save_snapshot(snapshots.check_name(name), self._state_key())

    def load_snapshot(self, name: Any) -> None:
        """The state and clock as saved; a new environment (modules run again), init.lua only if the
        snapshot was taken before it ran."""
        key = self._state_key()
        self.runtime.services.load_snapshot(snapshots.check_name(name), key)
        self.vm.reset(init=not self.runtime.state.initialized(key))
        self.rate_limiter.reset()
        self._start_vm()

    def _state_key(self) -> str:
        return str(self.vm.solution.root)  # the name the state's init.lua marker uses (hotvm.py)

    def snapshots(self) -> list[dict[str, Any]]:
        return snapshots.listing(self.runtime.state)

    def delete_snapshot(self, name: Any) -> None:
        snapshots.delete(self.runtime.state, snapshots.check_name(name))

    # -- events from services ---------------------------------------------------------------------
    def _on_service_event(self, service: str, event: str, payload: Any) -> None:
        self._events.put((service, event, payload))
        if not getattr(self._executing, "depth", 0):
            self.deliver_events()

    def forward_events(self, alias: str, to: SolutionApp) -> None:
        """Events this solution's services emit for `alias` go to `to`'s handlers, not this one's."""
        self._forwards[alias] = to

    def deliver_events(self) -> None:
        """Run the handler of every queued service event, in the order they were emitted."""
        events = self._events
        while not events.empty():  # after most executions: none (no exception raised to find that out)
            try:
                service, event, payload = events.get_nowait()
            except queue.Empty:  # another thread took it
                break
            if service in self._forwards:
                self._outbox().append((service, event, payload))
            elif self.trigger_event(service, event, payload) is None:
                self.log.message(f"event {service} {event}: no handler (and no Config fallback); dropped")
        if not getattr(self._executing, "turns", 0):
            self._send_forwarded()

    def _outbox(self) -> list[tuple[str, str, Any]]:
        outbox: list[tuple[str, str, Any]] | None = getattr(self._executing, "outbox", None)
        if outbox is None:
            outbox = self._executing.outbox = []
        return outbox

    @contextmanager
    def _service_turn(self) -> Iterator[None]:
        """The VM's turn for a service's work that ends in an execution (Services.turn: a device write
        stores, then its handler runs). Events for a linked solution wait until it is released, as a
        handler's do: the receiver's turn is never awaited while this one's is held."""
        with self._holding(), self.vm.turns.turn():
            yield

    @contextmanager
    def _holding(self) -> Iterator[None]:
        """This thread holds (or is about to take) this solution's turn: events for a linked solution
        are sent when the outermost hold ends."""
        turns = getattr(self._executing, "turns", 0)
        self._executing.turns = turns + 1
        try:
            yield
        finally:
            self._executing.turns = turns
        if not turns:
            self._send_forwarded()

    def _send_forwarded(self) -> None:
        # Only once this thread holds none of this solution's locks: the receiver's handler may call
        # back into this solution while another thread, inside the receiver, waits for this one.
        outbox = self._outbox()
        while outbox:
            service, event, payload = outbox.pop(0)
            self._forwards[service]._on_service_event(service, event, payload)

    def handle(self, request: Request) -> Response:
        if request.path == DEV_PREFIX or request.path.startswith(DEV_PREFIX + "/"):
            try:
                local_surface.check(request, remote=self.console_remote)
            except local_surface.Refused as refused:
                self.log.message(f"{request.method} {request.path} -> {refused.status}: {refused.reason}")
                return local_surface.error(refused.status, refused.reason)
            if not request.path.startswith(f"{DEV_PREFIX}/events/"):
                return self._surface(request)
        try:
            solution = self.solution
        except ConfigError as exc:
            self.log.message(f"{request.method} {request.path} -> 500: solution does not load: {exc}", error=str(exc))
            return _plain(500, "Internal Server Error")
        if request.path.startswith(DEV_PREFIX + "/"):  # no route map bound for every solution request
            try:
                _, args = _DEV_ROUTES.bind_to_environ(request.environ).match()
            except HTTPException:
                pass
            else:
                return self._event_over_http(request, args["service"], args["event"])
        webservice = solution.service_configs.get("webservice") or {}
        if is_upgrade(request):
            matched = self.websockets.match(solution, request)
            if matched is not None:
                return self._websocket(matched[0], request, matched[1], webservice)
        cors = cors_settings(solution.cors, webservice)
        return apply_cors(cors, request, self._solution_response(solution, request, webservice, cors))

    def _solution_response(
        self, solution: Solution, request: Request, webservice: Mapping[str, Any], cors: Mapping[str, Any] | None
    ) -> Response:
        routes = self._routes
        if routes.url_map is not solution.url_map:
            routes = self._routes = RouteMatcher(solution.url_map)
        try:
            index, path_params = routes.match(request, is_upgrade(request))
        except (NotFound, MethodNotAllowed):
            if is_preflight(request):  # no OPTIONS endpoint of its own: the gateway answers
                return preflight(cors, request)
            static = self._static_file(request)
            if static is not None:
                return static
            self.log.message(f"{request.method} {request.path} -> 404: no endpoint for this method and path")
            return _plain(404, "Not Found")
        except HTTPException as exc:  # e.g. a redirect werkzeug decided on
            return exc.get_response(request.environ)  # type: ignore[return-value]
        endpoint = solution.endpoints[index]
        scheme = endpoint_scheme(getattr(endpoint, "security", None), webservice)
        if scheme is not None:
            refused = check_credential(request, scheme, self.runtime.config.data.get("serve", {}).get("security", {}))
            if refused is not None:
                self.log.message(f"{request.method} {request.path} -> 401: {refused}")
                return unauthorized(scheme, refused)
        if self.rate_limits:
            limited = self._rate_limited(endpoint, request, scheme, webservice)
            if limited is not None:
                return limited
        return self._endpoint(solution, endpoint, request, path_params)

    def _rate_limited(
        self, endpoint: Endpoint, request: Request, scheme: Any, webservice: Mapping[str, Any]
    ) -> Response | None:
        """429 when the request's bucket is full: the endpoint's --#RATELIMIT (its own bucket), else
        the solution-wide Webservice rate_limit (one bucket across those endpoints)."""
        own = getattr(endpoint, "ratelimit", None)
        limit = own if isinstance(own, int) and own > 0 else solution_rate_limit(webservice)
        if limit is None:
            return None
        scope = f"{endpoint.method} {endpoint.path}" if limit == own else "*"
        # per token where the endpoint takes one, else per client address (loopback clients share one)
        token = credential(request, scheme) if scheme is not None else None
        client = f"token:{token}" if token else f"address:{request.remote_addr or ''}"
        wait = self.rate_limiter.admit(scope, client, limit, epoch_seconds(self.runtime.clock))
        if wait is None:
            return None
        self.log.message(f"{request.method} {request.path} -> 429: rate limit {limit} requests per minute")
        return too_many_requests(limit, wait)

    def _static_file(self, request: Request) -> Response | None:
        """The asset for this path (the default page for a folder) from the first asset folder
        that has it, or None."""
        if request.method not in ("GET", "HEAD"):
            return None
        solution = self.solution
        path = request.path.lstrip("/")
        if path == "" or path.endswith("/"):
            path += solution.default_page
        for assets in solution.assets:
            if not assets.matches(path):
                continue
            # No dot-files (.env, .git), nothing outside the asset folder (symlinks included).
            target = guards.static_file(assets.path, path)
            if target is None:
                continue
            environ = request.environ
            if "," in environ.get("HTTP_RANGE", ""):
                # Several ranges (werkzeug serves one only, and a range bomb lists thousands): the
                # whole file answers, as RFC 9110 lets a server ignore Range.
                environ = {k: v for k, v in environ.items() if k != "HTTP_RANGE"}
            try:  # send_file answers conditional and range requests
                return send_file(target, environ)
            except OSError:  # gone or unreadable since it was found
                return None
            except RequestedRangeNotSatisfiable:
                return _plain(416, "Requested Range Not Satisfiable")
        return None

    # -- endpoints ------------------------------------------------------------------------------
    def _endpoint(
        self, solution: Solution, endpoint: Endpoint, request: Request, path_params: Mapping[str, str]
    ) -> Response:
        headers = _headers(request)
        # The one request builder `run` uses too: it merges the query string (path parameters win).
        murano_request = build_request({
            "method": request.method,
            "uri": request_url(request),
            "route": endpoint.path,
            "parameters": dict(path_params),
            "headers": headers,
            "body": guards.script_body(request, self.max_body_bytes),
            "request_id": new_id(),
            "server_ip": request.environ.get("SERVER_NAME", "127.0.0.1"),
        }, now=epoch_seconds(self.runtime.clock))
        parameters = murano_request["parameters"]
        # The header's third field is the request content type the endpoint accepts; the response's
        # content type comes from the script (or its message), never from that field.
        try:
            result = self._logged(
                endpoint.file, murano_request, f"{endpoint.method} {endpoint.path}", "webservice", parameters,
                lambda: self.vm.run_script(endpoint.source, endpoint.file, murano_request, bounded=True),
                http={"method": request.method, "path": request.full_path.rstrip("?"),
                      "headers": dict(headers), "body": request.get_data(as_text=True)},
            )
        except QueueFull as full:
            self.log.message(f"{request.method} {request.path} -> 503: {full} (serve.max_queued)")
            return _busy(self.retry_after)
        return self._respond(result, endpoint)

    # -- websocket endpoints ----------------------------------------------------------------------
    def _websocket(
        self, endpoint: Endpoint, request: Request, path_params: Mapping[str, str], webservice: Mapping[str, Any]
    ) -> Response:
        """A WEBSOCKET endpoint's upgrade (after its --#SECURITY check and rate limit): served until it closes."""
        scheme = endpoint_scheme(endpoint.security, webservice)
        if scheme is not None:
            refused = check_credential(request, scheme, self.runtime.config.data.get("serve", {}).get("security", {}))
            if refused is not None:
                self.log.message(f"WEBSOCKET {request.path} -> 401: {refused}")
                return unauthorized(scheme, refused)
        if self.rate_limits:  # an upgrade is a request to the endpoint: it counts, and is refused as one
            limited = self._rate_limited(endpoint, request, scheme, webservice)
            if limited is not None:
                return limited
        return self.websockets.serve(endpoint, path_params, request)

    def _websocket_event(self, endpoint: Endpoint, info: dict[str, Any]) -> ScriptResult:
        return self._logged(
            endpoint.file, {"request_id": new_id()}, f"WEBSOCKET {endpoint.path} {info['type']}", "websocket",
            info, lambda: self.vm.run_script(
                script_source(endpoint), endpoint.file, {}, service="websocket", event="websocket_info",
                globals={EVENT_SLOT: info},
            ),
        )

    # -- event handlers -------------------------------------------------------------------------
    def trigger_event(
        self, service: str, event: str, payload: Any = None, context: Mapping[str, Any] | None = None
    ) -> ScriptResult | None:
        """Run the handler of (service, event) in the solution's VM; None if there is none.

        The first handler that exists runs, never two (DECISIONS.md, "Events from devices"): the
        event's own handler (or, in a MuranoCLI project, the `{product.id}` one for a device event);
        else another service's spelling of the same event that the router offers (Device v1's
        `datapoint` for a device write, 2016-2017); else, for a Device2 typed event, `device2 event`
        (with `type` set); else Config's `fallback`, whose `context` names the original event.
        """
        solution = self.solution
        products = frozenset(self.product_aliases)
        handler, routed = _handler_for(solution, service, event, products)
        if not _is_typed(handler, service, event, products):
            offered = self._offered(solution, service, event, payload)
            if offered is not None:
                return offered
        if handler is None:
            return None
        context = {**(routed or {}), **(context or {})} or None
        if handler.event == "event" and event != "event" and isinstance(payload, dict):
            payload = {"type": event, **payload}
        return self._run_handler(handler, {} if payload is None else payload, context)

    def _offered(self, solution: Solution, service: str, event: str, payload: Any) -> ScriptResult | None:
        """The first alternative event (Services.alternatives) with a handler of its own: that handler
        runs for each of that service's events (one per dataport); None when none has a handler."""
        alternatives = self.runtime.platform.alternatives(service, event, payload)
        for alias, own_event in dict.fromkeys((a, e) for a, e, _ in alternatives):
            handler = solution.handlers.get((alias, own_event))
            if handler is None:
                continue
            result: ScriptResult | None = None
            for _, _, own_payload in (x for x in alternatives if x[:2] == (alias, own_event)):
                result = self._run_handler(handler, own_payload, None)
            return result
        return None

    def _event_over_http(self, request: Request, service: str, event: str) -> Response:
        payload = guards.event_payload(request, self.max_body_bytes)
        handler, _ = _handler_for(self.solution, service, event, frozenset(self.product_aliases))
        result = self.trigger_event(service, event, payload)
        if result is None:
            return _plain(404, f"no event handler for {service} {event}")
        return self._respond(result, handler if handler is not None else f"{service} {event}")

    def _run_handler(self, handler: EventHandler, payload: Any, context: dict[str, Any] | None) -> ScriptResult:
        with self._holding():
            # In the VM's one queue with the endpoints, first come first served (hotvm.SolutionVM.turns):
            # a device write waits for its handler's turn only, not for every other device's too.
            return self._logged(
                handler.file, {"request_id": new_id()}, handler.event, handler.service, payload,
                lambda: self.vm.run_handler(handler, payload, context=context),
            )

    # -- running and logging --------------------------------------------------------------------
    def _respond(self, result: ScriptResult, script: Endpoint | EventHandler | str) -> Response:
        """The HTTP response for a run: a script error or an unsendable response is a generic 500."""
        if result.error is not None:
            return _plain(500, "Internal Server Error")
        try:
            return guards.build_response(result)
        except BadResponse as exc:
            where = script if isinstance(script, str) else script.file
            self.log.message(f"{where}: {exc}; answered 500 instead", file=where, error=str(exc))
            return _plain(500, "Internal Server Error")

    def _logged(
        self, file: str, request: Mapping[str, Any], event: str, service: str, parameters: Any,
        execute: Callable[[], ScriptResult], http: dict[str, Any] | None = None,
    ) -> ScriptResult:
        started_at = self.runtime.platform.clock.now()
        started = time.perf_counter()
        self._executing.depth = getattr(self._executing, "depth", 0) + 1
        try:
            result = execute()
        finally:
            self._executing.depth -= 1
        elapsed_ms = (time.perf_counter() - started) * 1000
        for listener in self.result_listeners:
            listener(result)
        if self.execution_listeners:
            execution = Execution(service, event, file, parameters, http, result, elapsed_ms, started_at)
            for on_execution in self.execution_listeners:
                on_execution(execution)
        self.log.write(
            script_records(
                result, service=service, event=event, parameters=parameters,
                request_id=str(request.get("request_id")), execution_time_ms=elapsed_ms, file=file,
            )
        )
        if not self._executing.depth:
            self.deliver_events()
        return result


PRODUCT_PLACEHOLDER = "{product.id}"  # MuranoCLI replaces it with the product's id in handler headers


def _handler_for(
    solution: Solution, service: str, event: str, products: frozenset[str] = frozenset()
) -> tuple[EventHandler | None, dict[str, Any] | None]:
    handler = solution.handlers.get((service, event))
    if handler is not None:
        return handler, None
    if _product_event(service, products) and (PRODUCT_PLACEHOLDER, event) in solution.handlers:
        return solution.handlers[(PRODUCT_PLACEHOLDER, event)], None
    if service == "device2" and ("device2", "event") in solution.handlers:
        return solution.handlers[("device2", "event")], None
    if service == "device2" and not products and (PRODUCT_PLACEHOLDER, "event") in solution.handlers:
        return solution.handlers[(PRODUCT_PLACEHOLDER, "event")], None
    fallback = solution.handlers.get(("config", "fallback"))
    if fallback is not None:
        return fallback, {"service": service, "event": event}
    return None, None


def _product_event(service: str, products: frozenset[str]) -> bool:
    """Whether a `{product.id}` handler answers this service's events: a linked product's alias, or, in
    a MuranoCLI project that is its own product (nothing linked), the device events of Device2."""
    return service in products or (service == "device2" and not products)


def _is_typed(handler: EventHandler | None, service: str, event: str, products: frozenset[str]) -> bool:
    """Whether `handler` is the event's own typed handler (exact, or `{product.id} <event>`)."""
    if handler is None or handler.event != event:
        return False
    return handler.service == service or (handler.service == PRODUCT_PLACEHOLDER and _product_event(service, products))


def _snapshot(root: Path) -> tuple[tuple[str, int, int, int], ...]:
    """Every script file's (path, mtime, ctime, size) under root: any edit, addition or removal
    changes it. The asset folders are left out: static assets are read per request, and editing
    one must not reset the VM."""
    found: list[tuple[str, int, int, int]] = []
    stack = [str(root)]
    static = {os.path.join(stack[0], name) for name in ASSET_DIRS}  # as scandir names them (no Path: per request)
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.path in static:  # only whether an asset folder exists
                found.append((entry.path, 0, 0, 0))
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                st = entry.stat()
            except OSError:
                continue
            found.append((entry.path, st.st_mtime_ns, st.st_ctime_ns, st.st_size))
    return tuple(sorted(found))


def _headers(request: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _busy(retry_after: int) -> Response:
    response = _plain(503, "Service Unavailable: too many requests are waiting for the solution; retry")
    response.headers["Retry-After"] = str(retry_after)
    return response


def _plain(code: int, text: str) -> Response:
    return Response(text, status=code, content_type="text/plain; charset=utf-8")
