"""ServedSolution: a whole solution served in-process over real loopback HTTP, for one test."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from ..console import Console
from ..runtime.result import Response, ScriptResult
from ..solution import SolutionLog, serve_solution
from .fixtures_services import fixture_aliases, service_fixture

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..solution.server import SolutionServer

HTTP_TIMEOUT = 30  # a hang guard only


class ServedSolution:
    """A solution served on a free loopback port (see the `murano_solution` fixture).

    `.get/.post/.put/.patch/.delete/.request(method, path, **requests_kwargs)` send real HTTP;
    `.keystore`, `.tsdb`, `.users`, `.outbox`, `.devices`, `.timers` (every service fixture's name)
    read and set the served solution's data (devices: the data_in handler runs);
    `.trigger(service, event, payload)` runs an event handler (ScriptResult, or None without
    one); `.logs` are the solution log's records (script runs and service calls); `.results`
    every execution's ScriptResult; `.reset()` gives a fresh state (init.lua runs again);
    `.snapshot(name)`/`.restore(name)` keep and bring back the whole state and the clock;
    `.advance(seconds)` moves the solution's clock.
    """

    def __init__(self, root: Path, runtime: Runtime) -> None:
        self.root = root
        self.runtime = runtime
        self.logs: list[dict[str, Any]] = []
        self.results: list[ScriptResult] = []
        log = SolutionLog(io.StringIO(), secrets=runtime.config.secrets())
        log.listeners.append(self.logs.append)
        self.server: SolutionServer = serve_solution(root, runtime, log=log, surfaces=(Console,))
        self.server.app.result_listeners.append(self.results.append)
        self.url = self.server.url
        self.product: ServedSolution | None = None  # the linked product (murano_solution(app, product=...))
        self._session = requests.Session()
        self._session.trust_env = False  # loopback only: no proxy from the environment

    @property
    def app(self) -> Any:
        return self.server.app

    def __getattr__(self, name: str) -> Any:
        """A service fixture's object from this solution's runtime (`app.keystore`, `app.tsdb`,
        `app.users`, `app.outbox`, `app.devices`, `app.timers`, ...): what the fixture of that name
        gives, over the served data (device events reach the solution's handlers)."""
        if name.startswith("_") or name not in fixture_aliases():
            raise AttributeError(name)
        value = self.__dict__[name] = service_fixture(self.runtime.platform, name)  # one per name: close() closes it
        return value

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return self._session.request(method.upper(), self.url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def trigger(self, service: str, event: str, payload: Any = None) -> ScriptResult | None:
        return self.server.app.trigger_event(service, event, payload)

    def reset(self) -> None:
        self.server.app.reset()

    def snapshot(self, name: str) -> None:
        """Keep the whole state (every service's data and the clock) under `name`, for restore(name)."""
        self.server.app.save_snapshot(name)

    def restore(self, name: str) -> None:
        """The state and clock as snapshot(name) kept them (a UsageError, and nothing changed, when it cannot)."""
        self.server.app.load_snapshot(name)

    def call_interface(self, operation: str, arguments: Any = None, *, caller_id: str = "subscriber") -> Any:
        """Call one of the solution's exposed Interface operations (services/interface/<op>.lua) as a
        subscriber solution would: the handler's return value, or None when there is no such operation."""
        result = self.server.app.trigger_event("interface", operation, arguments, {"caller_id": caller_id})
        if result is None:
            return None
        return result.response.message if result.error is None else {"error": result.error, "status": 500}

    def advance(self, seconds: float) -> None:
        """Move the solution's clock: timers and the services' lifecycles now due run (and their handlers)."""
        self.runtime.advance(seconds)

    def exchange(self, method: str, path: str, **kwargs: Any) -> ScriptResult:
        """One HTTP request as a ScriptResult: the HTTP answer, with the logs, calls and error of
        the script that made it (case files check this)."""
        before = len(self.results)
        answer = self.request(method, path, **kwargs)
        ran = self.results[before:]
        last = ran[-1] if ran else ScriptResult(Response())
        body: Any = answer.text
        if "json" in answer.headers.get("content-type", ""):
            try:
                body = answer.json()
            except ValueError:
                pass
        headers = {k.lower(): v for k, v in answer.headers.items()}
        return ScriptResult(Response(answer.status_code, body, headers), last.logs, last.calls, last.error)

    def close(self) -> None:
        self._session.close()
        for name in fixture_aliases():
            close = getattr(self.__dict__.get(name), "close", None)  # what a fixture opened (devices.mqtt)
            if callable(close):
                close()
        self.server.shutdown()

    def __enter__(self) -> ServedSolution:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ServedSolution({str(self.root)!r}, url={self.url!r})"


def request_arguments(request: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A case file's `request: {method, path, headers, query, body, json, form}` as requests' arguments."""
    kwargs: dict[str, Any] = {}
    if request.get("headers"):
        kwargs["headers"] = {str(k): str(v) for k, v in request["headers"].items()}
    if request.get("query"):
        kwargs["params"] = request["query"]
    if "json" in request:
        kwargs["data"] = json.dumps(request["json"])
        kwargs.setdefault("headers", {}).setdefault("content-type", "application/json")
    elif "form" in request:
        kwargs["data"] = request["form"]
    elif "body" in request:
        body = request["body"]
        kwargs["data"] = body if isinstance(body, str) else json.dumps(body)
    return str(request.get("method", "GET")), str(request.get("path", "/")), kwargs
