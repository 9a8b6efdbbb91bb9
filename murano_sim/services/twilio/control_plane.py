"""The control plane of the standalone emulator, under /_emulator/ on its HTTP port: another
process resets it, moves its clock, injects faults and outcomes, and plays the network's side
(inbound SMS and calls, a caller pressing keys): a view of the Twilio control (control.py), which
`serve` also offers under /_murano-sim/. It follows the local-surface rules
(murano_sim/net/local_surface.py) and answers JSON; docs/twilio-emulator.md lists the routes.
"""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ...errors import UsageError
from ...net import local_surface
from ...net.local_surface import Refused
from ..control import ControlError
from .app import Emulator
from .control import TwilioServiceControl
from .models import RULE_KEYS

PREFIX = "/_emulator"
_ROUTES = Map([
    Rule(f"{PREFIX}/reset", endpoint="reset", methods=["POST"]),
    Rule(f"{PREFIX}/advance", endpoint="advance", methods=["POST"]),
    Rule(f"{PREFIX}/fail_next", endpoint="fail_next", methods=["POST"]),
    Rule(f"{PREFIX}/outcomes", endpoint="outcomes", methods=["POST"]),
    Rule(f"{PREFIX}/messages/inbound", endpoint="message_inbound", methods=["POST"]),
    Rule(f"{PREFIX}/calls/inbound", endpoint="call_inbound", methods=["POST"]),
    Rule(f"{PREFIX}/calls/<sid>/press", endpoint="press", methods=["POST"]),
    Rule(f"{PREFIX}/calls/<sid>/speak", endpoint="speak", methods=["POST"]),
    Rule(f"{PREFIX}/calls/<sid>/hangup", endpoint="hangup", methods=["POST"]),
    Rule(f"{PREFIX}/calls/<sid>/transcript", endpoint="transcript", methods=["GET"]),
    Rule(f"{PREFIX}/requests", endpoint="requests", methods=["GET"]),
])


def _need(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None or value == "" or isinstance(value, (dict, list)):
        raise Refused(400, f"{key} is required")
    return str(value)


def _number(data: dict[str, Any], key: str, default: float | None = None, *, integer: bool = False) -> Any:
    value = data.get(key, default)
    if value is None:
        raise Refused(400, f"{key} is required")
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise Refused(400, f"{key} must be a number, got {value!r}") from None
    return number


class ControlPlane:
    """WSGI app for /_emulator/...; `remote`: answer non-loopback clients (emulator.control_remote).
    A view of the Twilio control: it parses the request (form or JSON text) and calls an action."""

    def __init__(self, emulator: Emulator, *, remote: bool = False) -> None:
        self.emulator = emulator
        self.control = TwilioServiceControl(emulator)
        self.act = self.control.actions
        self.remote = remote

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        try:
            local_surface.check(request, remote=self.remote)
            try:
                endpoint, values = _ROUTES.bind_to_environ(request.environ).match()
            except HTTPException as exc:
                raise Refused(exc.code or 404, f"no control route {request.method} {request.path}") from None
            data = local_surface.body(request) if request.method == "POST" else dict(request.args)
            return local_surface.json_response(getattr(self, f"_{endpoint}")(data, **values))
        except Refused as exc:
            return local_surface.error(exc.status, exc.reason)
        except UsageError as exc:
            return local_surface.error(400 if "no call" not in str(exc) else 404, str(exc))
        except ControlError as exc:
            return local_surface.error(400, str(exc))

    def _reset(self, data: dict[str, Any]) -> dict[str, Any]:
        self.act["reset"]()
        return {"ok": True}

    def _advance(self, data: dict[str, Any]) -> dict[str, Any]:
        seconds = _number(data, "seconds")
        if not 0 <= seconds <= 10 * 365 * 86400:
            raise Refused(400, f"seconds must be from 0 to ten years, got {seconds}")
        return self.act["advance"](seconds)

    def _fail_next(self, data: dict[str, Any]) -> dict[str, Any]:
        status = _number(data, "status", integer=True)
        code = _number(data, "code", integer=True) if data.get("code") not in (None, "") else None
        count = _number(data, "count", 1, integer=True)
        self.act["fail_next"](status, code, count)
        return {"ok": True}

    def _outcomes(self, data: dict[str, Any]) -> dict[str, Any]:
        number = _need(data, "number")
        rule = {k: v for k, v in data.items() if k != "number"}
        unknown = sorted(set(rule) - set(RULE_KEYS))
        if unknown:
            raise Refused(400, f"unknown key {unknown[0]!r} (known: number, {', '.join(RULE_KEYS)})")
        if "error_code" in rule:
            rule["error_code"] = _number(rule, "error_code", integer=True)
        self.act["outcome"](number, **rule)
        return {"ok": True}

    def _message_inbound(self, data: dict[str, Any]) -> dict[str, Any]:
        media = data.get("MediaUrl") or []
        media = [media] if isinstance(media, str) else [str(u) for u in media]
        message = self.act["receive_message"](To=_need(data, "To"), From=_need(data, "From"),
                                              Body=str(data.get("Body") or ""), MediaUrl=media)
        return {"sid": message["sid"]}

    def _call_inbound(self, data: dict[str, Any]) -> dict[str, Any]:
        call = self.act["inbound_call"](From=_need(data, "From"), To=_need(data, "To"))
        return {"sid": call["sid"]}

    def _press(self, data: dict[str, Any], sid: str) -> dict[str, Any]:
        return {"transcript": self.act["press"](sid, _need(data, "digits"))}

    def _speak(self, data: dict[str, Any], sid: str) -> dict[str, Any]:
        return {"transcript": self.act["speak"](sid, _need(data, "text"))}

    def _hangup(self, data: dict[str, Any], sid: str) -> dict[str, Any]:
        self.act["hangup"](sid)
        return {"ok": True}

    def _transcript(self, data: dict[str, Any], sid: str) -> dict[str, Any]:
        return {"transcript": self.act["transcript"](sid)}

    def _requests(self, data: dict[str, Any]) -> dict[str, Any]:
        limit = _number(data, "limit", 100, integer=True)
        if limit < 1:
            raise Refused(400, f"limit must be at least 1, got {limit}")
        return {"requests": self.act["requests"](limit=limit)}


class Standalone:
    """What the standalone server serves: the control plane under /_emulator/, the API elsewhere."""

    def __init__(self, emulator: Emulator, *, remote: bool = False) -> None:
        self.api = emulator.wsgi_app
        self.control = ControlPlane(emulator, remote=remote)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == PREFIX or path.startswith(PREFIX + "/"):
            return self.control(environ, start_response)
        return self.api(environ, start_response)
