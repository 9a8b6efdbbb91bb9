"""The developer console: the page at /_murano-sim/, its JSON API under /_murano-sim/api/, and the live feed.

docs/console.md lists the API. SolutionApp hands every request under the reserved prefix here
after the local-surface checks (murano_sim/local_surface.py).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from ..errors import ConfigError
from ..net import local_surface
from ..net.local_surface import error as json_error
from ..services.local import ServiceError
from ..solution.app import DEV_PREFIX, Execution
from . import views
from .executions import Executions
from .views import BadInput

API = f"{DEV_PREFIX}/api"
STATIC = {"console.css": "text/css", "console.js": "text/javascript"}

_ROUTES = Map([
    Rule(f"{DEV_PREFIX}/", endpoint="page", methods=["GET"]),
    Rule(f"{DEV_PREFIX}/static/<name>", endpoint="static", methods=["GET"]),
    Rule(f"{API}/solution", endpoint="solution", methods=["GET"]),
    Rule(f"{API}/executions", endpoint="executions", methods=["GET"]),
    Rule(f"{API}/executions/<int:execution_id>", endpoint="execution", methods=["GET"]),
    Rule(f"{API}/executions/<int:execution_id>/replay", endpoint="replay", methods=["POST"]),
    Rule(f"{API}/stream", endpoint="stream", methods=["GET"]),
    Rule(f"{API}/clock", endpoint="clock", methods=["GET"]),
    Rule(f"{API}/clock/advance", endpoint="advance", methods=["POST"]),
    Rule(f"{API}/twilio", endpoint="twilio", methods=["GET"]),
    Rule(f"{API}/twilio/calls/<sid>", endpoint="call", methods=["GET"]),
    Rule(f"{API}/twilio/calls/<sid>/digits", endpoint="digits", methods=["POST"]),
    Rule(f"{API}/phone", endpoint="phone", methods=["GET"]),
    Rule(f"{API}/phone/sms", endpoint="sms", methods=["POST"]),
    Rule(f"{API}/keystore", endpoint="keystore", methods=["GET", "POST"]),
    Rule(f"{API}/keystore/<path:key>", endpoint="keystore_key", methods=["DELETE"]),
    Rule(f"{API}/tsdb", endpoint="tsdb", methods=["GET"]),
    Rule(f"{API}/timers", endpoint="timers", methods=["GET"]),
    Rule(f"{API}/devices", endpoint="devices", methods=["GET"]),
    Rule(f"{API}/devices/<path:identity>/data_in", endpoint="data_in", methods=["POST"]),
    Rule(f"{API}/users", endpoint="users", methods=["GET"]),
    Rule(f"{API}/email", endpoint="email", methods=["GET"]),
], strict_slashes=False, redirect_defaults=False)


class Console:
    """The console of one served solution (a SolutionApp)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.executions = Executions(app.runtime.config.secrets())
        app.execution_listeners.append(self._record)

    def _record(self, execution: Execution) -> None:
        self.executions.add(execution)

    def close(self) -> None:
        self.executions.close()

    def handle(self, request: Request) -> Response:
        if request.path == DEV_PREFIX:
            return Response(status=308, headers={"Location": f"{DEV_PREFIX}/"})
        urls = _ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, args = urls.match()
        except NotFound:
            return json_error(404, f"no console route {request.path}")
        except MethodNotAllowed:
            return json_error(405, f"{request.method} is not allowed on {request.path}")
        except HTTPException as exc:
            return json_error(exc.code or 400, exc.description or "bad request")
        try:
            return getattr(self, f"_{endpoint}")(request, **args)
        except BadInput as exc:
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
        since = _int(request.args.get("since", "0"), "since")
        return _json({"executions": self.executions.list(since)})

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

    def _twilio(self, request: Request) -> Response:
        return _json(views.twilio_view(self.app))

    def _call(self, request: Request, sid: str) -> Response:
        return _json(views.call_detail(self.app, sid))

    def _digits(self, request: Request, sid: str) -> Response:
        return _json(views.press_digits(self.app, sid, _fields(request).get("digits")))

    def _phone(self, request: Request) -> Response:
        phone = request.args.get("from", "")
        return _json(views.phone_thread(self.app, phone, request.args.get("to") or None))

    def _sms(self, request: Request) -> Response:
        return _json(views.send_sms(self.app, request.host_url, _fields(request)))

    def _keystore(self, request: Request) -> Response:
        if request.method == "POST":
            return _json(views.keystore_set(self.app, _fields(request)))
        return _json(views.keystore_view(self.app))

    def _keystore_key(self, request: Request, key: str) -> Response:
        return _json(views.keystore_delete(self.app, key))

    def _tsdb(self, request: Request) -> Response:
        tags = {}
        for item in request.args.getlist("tag"):
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise BadInput(f"tag: expected name=value, got {item!r}")
            tags[name] = value
        metric = request.args.get("metric") or None
        return _json(views.tsdb_view(self.app, metric, tags, request.args.get("window", "1h")))

    def _timers(self, request: Request) -> Response:
        return _json(views.timers_view(self.app))

    def _devices(self, request: Request) -> Response:
        return _json(views.devices_view(self.app))

    def _data_in(self, request: Request, identity: str) -> Response:
        values = _fields(request).get("values")
        if isinstance(values, str):
            try:
                values = local_surface.loads(values)
            except ValueError:
                raise BadInput("values: not valid JSON") from None
        return _json(views.device_data_in(self.app, identity, values))

    def _users(self, request: Request) -> Response:
        return _json(views.users_view(self.app))

    def _email(self, request: Request) -> Response:
        return _json(views.email_view(self.app))


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
    data = resources.files(__package__).joinpath("static", name).read_bytes()
    return Response(data, content_type=content_type, headers={"Cache-Control": "no-store"})
