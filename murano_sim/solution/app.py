"""The WSGI application that serves a solution: routing, Murano's request/response, contexts, reload."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from ..errors import ConfigError
from ..lua.vm import Context
from ..result import ScriptResult
from ..runtime import Runtime
from . import guards
from .guards import BadResponse, RequestRefused
from .guards import multi as _multi
from .loader import Endpoint, EventHandler, Solution, load_solution
from .requestlog import SolutionLog, script_records

# Routes of the local server itself, outside any solution's namespace.
DEV_PREFIX = "/_murano-sim"
_DEV_ROUTES = Map([Rule(f"{DEV_PREFIX}/events/<service>/<event>", endpoint="event", methods=["POST"])])

# Static assets: served for GET/HEAD paths no endpoint matches (endpoints win), as on Murano.
FILES_DIR = "files"
INDEX_FILE = "index.html"

# Event handlers see their payload as `request` (like every script) and also as `event` and
# `data`, the argument names Murano's templates use for device and timer events.
_EVENT_ALIASES = ("murano-sim:event", "event = request\ndata = request\n")


class SolutionApp:
    """Serves one solution directory through a Runtime; reloads it when any of its files change.

    Endpoint scripts get a fresh Lua environment per request; event handlers share one context
    (Murano's shared context), created anew whenever the solution reloads.
    """

    def __init__(self, root: str | os.PathLike[str], runtime: Runtime, log: SolutionLog | None = None) -> None:
        self.root = Path(root)
        self.runtime = runtime
        self.log = log or SolutionLog(secrets=runtime.config.secrets())
        self._lock = threading.Lock()
        self._event_lock = threading.Lock()
        self._snapshot = _snapshot(self.root)
        self._solution: Solution | None = load_solution(self.root)  # a load error at start is the caller's
        self._load_error: str | None = None
        self._events = runtime.new_context()
        serve = runtime.config.data.get("serve") or {}
        self.max_body_bytes: int = int(serve.get("max_body_bytes", guards.DEFAULT_MAX_BODY_BYTES))

    @property
    def solution(self) -> Solution:
        """The current solution, reloaded first if a file changed (ConfigError if it no longer loads)."""
        with self._lock:
            snapshot = _snapshot(self.root)
            if snapshot != self._snapshot:
                self._snapshot = snapshot
                try:
                    self._solution, self._load_error = load_solution(self.root), None
                except ConfigError as exc:
                    self._solution, self._load_error = None, str(exc)
                    self.log.message(f"reload failed: {exc}", error=str(exc))
                else:
                    self._events = self.runtime.new_context()
                    self.log.message(f"reloaded {self.root}")
            if self._solution is None:
                raise ConfigError(self._load_error or "solution not loaded")
            return self._solution

    # -- WSGI -----------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            guards.check_length(request, self.max_body_bytes)  # before anything reads the body
            response = self.handle(request)
        except RequestRefused as refused:
            self.log.message(f"{request.method} {request.path} -> {refused.status}: {refused.reason}")
            response = _plain(refused.status, refused.reason)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        try:
            solution = self.solution
        except ConfigError as exc:
            self.log.message(f"{request.method} {request.path} -> 500: solution does not load: {exc}", error=str(exc))
            return _plain(500, "Internal Server Error")
        dev = _DEV_ROUTES.bind_to_environ(request.environ)
        try:
            _, args = dev.match()
        except HTTPException:
            pass
        else:
            return self._event_over_http(request, args["service"], args["event"])
        urls = solution.url_map.bind_to_environ(request.environ)
        try:
            index, path_params = urls.match()
        except (NotFound, MethodNotAllowed):
            static = self._static_file(request)
            if static is not None:
                return static
            self.log.message(f"{request.method} {request.path} -> 404: no endpoint for this method and path")
            return _plain(404, "Not Found")
        except HTTPException as exc:  # e.g. a redirect werkzeug decided on
            return exc.get_response(request.environ)  # type: ignore[return-value]
        endpoint = solution.endpoints[index]
        return self._endpoint(solution, endpoint, request, path_params)

    def _static_file(self, request: Request) -> Response | None:
        """The file under files/ for this path (index.html for a folder), or None."""
        if request.method not in ("GET", "HEAD"):
            return None
        path = request.path.lstrip("/")
        if path == "" or path.endswith("/"):
            path += INDEX_FILE
        # No dot-files (.env, .git), nothing outside files/ (symlinks included).
        target = guards.static_file(self.root / FILES_DIR, path)
        if target is None:
            return None
        try:  # send_file answers conditional and range requests
            return send_file(target, request.environ)
        except OSError:  # gone or unreadable since it was found
            return None

    # -- endpoints ------------------------------------------------------------------------------
    def _endpoint(
        self, solution: Solution, endpoint: Endpoint, request: Request, path_params: Mapping[str, str]
    ) -> Response:
        parameters = {**_multi(request.args), **path_params}  # a path parameter wins over a query one
        murano_request = {
            "method": request.method,
            "uri": request.url,
            "route": endpoint.path,
            "parameters": parameters,
            "headers": _headers(request),
            "body": guards.script_body(request, self.max_body_bytes),
            "timestamp": int(time.time()),
            "request_id": uuid.uuid4().hex,
            "server_ip": request.environ.get("SERVER_NAME", "127.0.0.1"),
        }
        prelude = list(solution.prelude)
        if endpoint.content_type:  # the header's content type is the default; the script may override it
            prelude.append(("murano-sim:content-type", f'response.headers["content-type"] = "{endpoint.content_type}"'))
        result = self._run(
            endpoint, murano_request, solution, prelude, None,
            service="webservice", event=f"{endpoint.method} {endpoint.path}", parameters=parameters,
        )
        return self._respond(result, endpoint)

    # -- event handlers -------------------------------------------------------------------------
    def trigger_event(self, service: str, event: str, payload: Mapping[str, Any] | None = None) -> ScriptResult | None:
        """Run the handler of (service, event) in the solution's shared context; None if there is none."""
        solution = self.solution
        handler = solution.handlers.get((service, event))
        if handler is None:
            return None
        return self._run_handler(solution, handler, dict(payload or {}))

    def _event_over_http(self, request: Request, service: str, event: str) -> Response:
        payload = guards.event_payload(request, self.max_body_bytes)
        solution = self.solution
        handler = solution.handlers.get((service, event))
        if handler is None:
            return _plain(404, f"no event handler for {service} {event}")
        return self._respond(self._run_handler(solution, handler, payload), handler)

    def _run_handler(self, solution: Solution, handler: EventHandler, payload: dict[str, Any]) -> ScriptResult:
        request = {"request_id": uuid.uuid4().hex, **payload}
        with self._lock:
            context = self._events
        with self._event_lock:  # one handler at a time, so the context's first run is decided once
            # The shared context runs the modules and init.lua once, when it is created.
            prelude = ([] if context.env is not None else list(solution.prelude)) + [_EVENT_ALIASES]
            return self._run(
                handler, request, solution, prelude, context,
                service=handler.service, event=handler.event, parameters=payload,
            )

    # -- running and logging --------------------------------------------------------------------
    def _respond(self, result: ScriptResult, script: Endpoint | EventHandler) -> Response:
        """The HTTP response for a run: a script error or an unsendable response is a generic 500."""
        if result.error is not None:
            return _plain(500, "Internal Server Error")
        try:
            return guards.build_response(result)
        except BadResponse as exc:
            self.log.message(f"{script.file}: {exc}; answered 500 instead", file=script.file, error=str(exc))
            return _plain(500, "Internal Server Error")

    def _run(
        self,
        script: Endpoint | EventHandler,
        request: dict[str, Any],
        solution: Solution,
        prelude: list[tuple[str, str]],
        context: Context | None,
        *,
        service: str,
        event: str,
        parameters: Any,
    ) -> ScriptResult:
        started = time.perf_counter()
        result = self.runtime.run(
            script.source, request, name=script.file, modules=solution.modules, prelude=prelude, context=context
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.log.write(
            script_records(
                result, service=service, event=event, parameters=parameters,
                request_id=str(request.get("request_id")), execution_time_ms=elapsed_ms, file=script.file,
            )
        )
        return result


def _snapshot(root: Path) -> tuple[tuple[str, int, int, int], ...]:
    """Every script file's (path, mtime, ctime, size) under root: any edit, addition or removal
    changes it. files/ is left out: static assets are read per request, and editing one must not
    reset the event handlers' context."""
    found: list[tuple[str, int, int, int]] = []
    stack = [str(root)]
    static = str(root / FILES_DIR)
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.path == static:
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


def _plain(code: int, text: str) -> Response:
    return Response(text, status=code, content_type="text/plain; charset=utf-8")
