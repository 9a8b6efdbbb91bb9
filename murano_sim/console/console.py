"""The developer console: the page at /_murano-sim/, its JSON API under /_murano-sim/api/, and the live feed.

docs/console.md lists the API. SolutionApp hands every request under the reserved prefix here
after the local-surface checks (murano_sim/local_surface.py).
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from ..errors import ConfigError, UsageError
from ..net import local_surface
from ..net.local_surface import error as json_error
from ..services.host import ServiceError
from ..services.plugin import discover, load_attribute
from ..solution.app import DEV_PREFIX, Execution
from ..solution.logstore import LOG_CAP, LogFilter, LogStore
from . import views
from .executions import Executions
from .views import BadInput

API = f"{DEV_PREFIX}/api"
MAX_LOG_WAIT = 25.0  # seconds a long poll of /api/logs may hold: under common proxies' idle limits
STATIC = {"console.css": "text/css", "console.js": "text/javascript"}

_ROUTES = [
    Rule(f"{DEV_PREFIX}/", endpoint="page", methods=["GET"]),
    Rule(f"{DEV_PREFIX}/static/<name>", endpoint="static", methods=["GET"]),
    Rule(f"{API}/solution", endpoint="solution", methods=["GET"]),
    Rule(f"{API}/executions", endpoint="executions", methods=["GET", "DELETE"]),
    Rule(f"{API}/logs", endpoint="logs", methods=["GET"]),
    Rule(f"{API}/executions/<int:execution_id>", endpoint="execution", methods=["GET"]),
    Rule(f"{API}/executions/<int:execution_id>/replay", endpoint="replay", methods=["POST"]),
    Rule(f"{API}/stream", endpoint="stream", methods=["GET"]),
    Rule(f"{API}/clock", endpoint="clock", methods=["GET"]),
    Rule(f"{API}/clock/advance", endpoint="advance", methods=["POST"]),
    Rule(f"{API}/reset", endpoint="reset", methods=["POST"]),
    Rule(f"{API}/snapshots", endpoint="snapshots", methods=["GET", "POST"]),
    Rule(f"{API}/snapshots/<name>", endpoint="snapshot", methods=["DELETE"]),
    Rule(f"{API}/snapshots/<name>/load", endpoint="snapshot_load", methods=["POST"]),
    # Every service, through its control (services/control.py).
    Rule(f"{API}/services", endpoint="services", methods=["GET"]),
    Rule(f"{API}/services/<alias>", endpoint="service", methods=["GET"]),
    Rule(f"{API}/services/<alias>/<action>", endpoint="service_action", methods=["POST"]),
    # The data panels' first paths, kept as aliases of the controls' views and actions.
    Rule(f"{API}/keystore", endpoint="keystore", methods=["GET", "POST"]),
    Rule(f"{API}/keystore/<path:key>", endpoint="keystore_key", methods=["DELETE"]),
    Rule(f"{API}/tsdb", endpoint="tsdb", methods=["GET"]),
    Rule(f"{API}/timers", endpoint="inspect", defaults={"alias": "timer"}, methods=["GET"]),
    Rule(f"{API}/devices", endpoint="inspect", defaults={"alias": "device2"}, methods=["GET"]),
    Rule(f"{API}/devices/<path:identity>/data_in", endpoint="data_in", methods=["POST"]),
    Rule(f"{API}/users", endpoint="inspect", defaults={"alias": "user"}, methods=["GET"]),
    Rule(f"{API}/email", endpoint="inspect", defaults={"alias": "email"}, methods=["GET"]),
]


def panels() -> list[Any]:
    """Every service's console panel (its plugin's `console=`); a deleted service has none."""
    return [load_attribute(plugin.console) for plugin in discover() if plugin.console]


class Console:
    """The console of one served solution (a SolutionApp)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.panel_views: dict[str, Any] = {}
        rules = [rule.empty() for rule in _ROUTES]  # a Rule binds to one Map: each console gets copies
        for panel in panels():
            for route in panel.routes:
                endpoint = f"panel:{len(self.panel_views)}"
                self.panel_views[endpoint] = route.view
                rules.append(Rule(f"{API}{route.path}", endpoint=endpoint, methods=list(route.methods)))
        self.routes = Map(rules, strict_slashes=False, redirect_defaults=False)
        self.executions = Executions(app.runtime.config.secrets())
        app.execution_listeners.append(self._record)
        # What `murano-sim logs` reads: the solution log's records (in memory, and in a --state file).
        self.logs = LogStore(app.runtime.state)
        app.log.text_listeners.append(self.logs.add_json)  # decoded when `logs` reads them

    def _record(self, execution: Execution) -> None:
        self.executions.add(execution)

    def close(self) -> None:
        self.executions.close()
        self.logs.close()

    def handle(self, request: Request) -> Response:
        if request.path == DEV_PREFIX:
            return Response(status=308, headers={"Location": f"{DEV_PREFIX}/"})
        urls = self.routes.bind_to_environ(request.environ)
        try:
            endpoint, args = urls.match()
        except NotFound:
            return json_error(404, f"no console route {request.path}")
        except MethodNotAllowed:
            return json_error(405, f"{request.method} is not allowed on {request.path}")
        except HTTPException as exc:
            return json_error(exc.code or 400, exc.description or "bad request")
        try:
            if endpoint in self.panel_views:
                return _json(self.panel_views[endpoint](self.app, request, **args))
            return getattr(self, f"_{endpoint}")(request, **args)
        except (BadInput, UsageError) as exc:
            return json_error(400, str(exc))
        except local_surface.Refused as exc:
            return json_error(exc.status, exc.reason)
        except ServiceError as exc:
            return json_error(exc.status if 400 <= exc.status < 500 else 400, exc.message)
        except ConfigError as exc:
            return json_error(409, f"the solution does not load: {exc}")

    # -- the page ---------------------------------------------------------------------------------
    def _page(self, request: Request) -> Response:
        return _asset("index.html", "text/html; charset=utf-8")

    def _static(self, request: Request, name: str) -> Response:
        if name not in STATIC:
            return json_error(404, f"no console asset {name}")
        return _asset(name, f"{STATIC[name]}; charset=utf-8")

    def _stream(self, request: Request) -> Response:
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        chunks = (chunk.encode() for chunk in self.executions.stream())
        return Response(chunks, content_type="text/event-stream", headers=headers, direct_passthrough=True)

    # -- views ------------------------------------------------------------------------------------
    def _solution(self, request: Request) -> Response:
        return _json(views.solution_view(self.app))

    def _executions(self, request: Request) -> Response:
        if request.method == "DELETE":  # the console's clear button; the log (`murano-sim logs`) keeps them
            self.executions.clear()
            return _json({"executions": []})
        since = _int(request.args.get("since", "0"), "since")
        kind, level = request.args.get("kind") or None, request.args.get("level") or None
        if kind not in (None, "endpoint", "event", "timer"):
            raise BadInput(f"kind: expected endpoint, event or timer, got {kind!r}")
        if level not in (None, "warn", "error"):
            raise BadInput(f"level: expected warn or error, got {level!r}")
        found = self.executions.list(since, text=request.args.get("q") or None, kind=kind, level=level)
        return _json({"executions": found})

    def _logs(self, request: Request) -> Response:
        """The log records after `after` that pass the filters (docs/logs.md); `wait` seconds (at most
        MAX_LOG_WAIT) long-polls for the first new one."""
        where = LogFilter.from_query(request.args)
        after = _int(request.args.get("after", "0"), "after")
        limit = min(max(_int(request.args.get("limit", str(LOG_CAP)), "limit"), 0), LOG_CAP)
        try:
            wait = float(request.args.get("wait", "0"))
        except ValueError:
            wait = math.nan
        if not math.isfinite(wait):
            raise BadInput(f"wait: expected a number of seconds, got {request.args.get('wait')!r}")
        wait = min(max(wait, 0.0), MAX_LOG_WAIT)
        records, last = self.logs.poll(after, where, wait=wait, limit=limit)
        return _json({"records": records, "last": last, "cap": self.logs.cap})

    def _execution(self, request: Request, execution_id: int) -> Response:
        found = self.executions.get(execution_id)
        if found is None:
            return json_error(404, f"no execution {execution_id} (the console keeps the most recent ones)")
        return _json(found)

    def _replay(self, request: Request, execution_id: int) -> Response:
        """Run an execution again, as it was or with the changes given (method, path, headers, body
        for an endpoint request; payload for an event). Answers the new execution."""
        found = self.executions.get(execution_id)
        if found is None:
            return json_error(404, f"no execution {execution_id}")
        changes = _fields(request)
        before = self.executions.last_id()
        if found["kind"] == "endpoint":
            self._replay_request({**(found["request"] or {}), **changes})
        else:
            payload = changes.get("payload", found["parameters"])
            if self.app.trigger_event(found["service"], _event_name(found), payload) is None:
                return json_error(404, f"no handler for {found['service']} {found['event']} any more")
        ran = self.executions.list(since=before)
        if not ran:
            return json_error(404, "the replay ran no script (no endpoint matches that method and path)")
        return _json(self.executions.get(ran[0]["id"]))

    def _replay_request(self, original: dict[str, Any]) -> None:
        method = str(original.get("method") or "GET").upper()
        path = str(original.get("path") or "/")
        if not path.startswith("/") or path.startswith(DEV_PREFIX):
            raise BadInput(f"path: expected a solution path starting with /, got {path!r}")
        headers = original.get("headers") or {}
        if not isinstance(headers, dict):
            raise BadInput("headers: expected an object")
        body = original.get("body") or ""
        if not isinstance(body, str):
            body = json.dumps(body)
        skip = {"content-length", "host"}
        builder = EnvironBuilder(
            path=path, method=method, data=body.encode("utf-8"),
            headers={k: str(v) for k, v in headers.items() if k.lower() not in skip},
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        environ["REMOTE_ADDR"] = "127.0.0.1"
        self.app.handle(Request(environ))

    def _clock(self, request: Request) -> Response:
        return _json(views.clock_view(self.app))

    def _advance(self, request: Request) -> Response:
        return _json(views.advance(self.app, _fields(request).get("seconds"), self.executions))

    def _reset(self, request: Request) -> Response:
        """Every service back to its seeded state, and init.lua runs again."""
        self.app.reset()
        return _json({"reset": True, "services": sorted(self.app.runtime.platform.by_alias)})

    def _snapshots(self, request: Request) -> Response:
        """GET: every snapshot; POST {"name": ...}: save the whole state (and the clock) under that name."""
        if request.method == "POST":
            return _json({"saved": self.app.save_snapshot(_fields(request).get("name"))})
        return _json({"snapshots": self.app.snapshots()})

    def _snapshot(self, request: Request, name: str) -> Response:
        self.app.delete_snapshot(name)
        return _json({"deleted": name})

    def _snapshot_load(self, request: Request, name: str) -> Response:
        """The state as saved (atomic: a bad snapshot is a 400 and nothing changes), the clock with it."""
        self.app.load_snapshot(name)
        return _json({"loaded": name, "clock": views.clock_view(self.app)})

    def _services(self, request: Request) -> Response:
        return _json(views.services_view(self.app))

    def _service(self, request: Request, alias: str) -> Response:
        query = {k: v for k, v in request.args.items() if k != "view"}
        return _json(views.control(self.app, alias).inspect(request.args.get("view"), **query))

    def _service_action(self, request: Request, alias: str, action: str) -> Response:
        return _json(views.service_action(self.app, alias, action, _fields(request)))

    def _inspect(self, request: Request, alias: str) -> Response:
        return _json(views.control(self.app, alias).inspect())

    def _keystore(self, request: Request) -> Response:
        if request.method == "POST":
            fields = _fields(request)
            return _json(views.service_action(self.app, "keystore", "set",
                                              {"key": fields.get("key"), "value": fields.get("value")}))
        return self._inspect(request, "keystore")

    def _keystore_key(self, request: Request, key: str) -> Response:
        return _json(views.service_action(self.app, "keystore", "delete", {"key": key}))

    def _tsdb(self, request: Request) -> Response:
        tags = {}
        for item in request.args.getlist("tag"):
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise BadInput(f"tag: expected name=value, got {item!r}")
            tags[name] = value
        metric = request.args.get("metric") or None
        tsdb = views.control(self.app, "tsdb")
        return _json(tsdb.inspect(metric=metric, tags=tags, window=request.args.get("window", "1h")))

    def _data_in(self, request: Request, identity: str) -> Response:
        values = _fields(request).get("values")
        if isinstance(values, str):
            try:
                values = local_surface.loads(values)
            except ValueError:
                raise BadInput("values: not valid JSON") from None
        return _json(views.service_action(self.app, "device2", "data_in", {"identity": identity, "values": values}))

def _event_name(record: dict[str, Any]) -> str:
    return str(record["event"])


def _fields(request: Request) -> dict[str, Any]:
    """The request's fields: a JSON object, or a form (both accepted, as on every local surface)."""
    return local_surface.body(request)


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadInput(f"{name}: expected a whole number, got {value!r}") from None


def _json(data: Any) -> Response:
    return Response(json.dumps(data, default=str), content_type="application/json",
                    headers={"Cache-Control": "no-store"})


def _asset(name: str, content_type: str) -> Response:
    data = (resources.files(__package__) / "static" / name).read_bytes()
    return Response(data, content_type=content_type, headers={"Cache-Control": "no-store"})
