"""Twilio's console panel: the messages, calls and webhook deliveries of the local emulator, and
the phone (send an SMS to the solution, press digits on a call). Mounted by the console from the
plugin's `console=`; the page calls these paths under /_murano-sim/api/."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from ...config import redact
from ...errors import UsageError
from ...net import local_surface
from ..control import ConsolePanel, PanelRoute

_TIMELINE_FIELDS = ("date_created", "date_sent", "start_time", "end_time", "date_updated")
_PHONE = re.compile(r"^\+?[0-9A-Za-z:@._-]{1,64}$")


def twilio_view(app: Any, request: Any = None) -> dict[str, Any]:
    emulator = app.runtime.emulator
    if emulator is None:
        return {"emulated": False, "messages": [], "calls": [], "deliveries": []}
    secrets = app.runtime.config.secrets()
    return {
        "emulated": True,
        "calls_supported": calls_supported(emulator),
        "owned_numbers": list(app.runtime.config.section("emulator").get("owned_numbers") or []),
        "messages": [_with_timeline(m) for m in emulator.messages()],
        "calls": [_with_timeline(c) for c in emulator.calls()],
        "deliveries": [delivery_json(d, secrets) for d in list(emulator.deliveries)],
    }


def _with_timeline(record: dict[str, Any]) -> dict[str, Any]:
    """A record with the times Twilio's JSON carries, in order (what the status went through)."""
    steps = [{"field": name, "at": record[name]} for name in _TIMELINE_FIELDS if record.get(name)]
    return {**record, "timeline": steps}


def delivery_json(delivery: Any, secrets: list[str]) -> dict[str, Any]:
    return {
        "kind": delivery.kind, "url": delivery.url, "method": delivery.method,
        "params": {k: redact(str(v), secrets) for k, v in delivery.params.items()},
        "ok": delivery.ok, "status": delivery.status, "error": delivery.error,
        "body": redact(delivery.body or "", secrets),
    }


def calls_supported(emulator: Any) -> bool:
    """Whether the emulator plays calls (transcripts, digits): the local emulator does."""
    return emulator is not None and callable(getattr(emulator, "transcript", None))


def call_detail(app: Any, request: Any, sid: str) -> dict[str, Any]:
    return {"sid": sid, "transcript": _emulator(app).transcript(sid)}


def press_digits(app: Any, request: Any, sid: str) -> dict[str, Any]:
    """Press keys on a call as the person on the line; the TwiML's <Gather> takes them."""
    emulator = _emulator(app)
    digits = local_surface.body(request).get("digits")
    if not isinstance(digits, str) or not re.fullmatch(r"[0-9*#w]{1,32}", digits):
        raise UsageError("digits: expected 1 to 32 of 0-9, * and #")
    emulator.press(sid, digits)
    return call_detail(app, request, sid)


def _emulator(app: Any) -> Any:
    emulator = app.runtime.emulator
    if emulator is None:
        raise UsageError("Twilio is not emulated here (services.twilio.backend is not local)")
    return emulator


def send_sms(app: Any, request: Any) -> dict[str, Any]:
    """An inbound SMS from `from` to `to`, stored by the emulator and posted (signed) to the
    solution's endpoint `path`, as Twilio delivers one; answers the thread afterwards."""
    emulator = _emulator(app)
    fields: Mapping[str, Any] = local_surface.body(request)
    phone, number = str(fields.get("from") or ""), str(fields.get("to") or "")
    body, path = fields.get("body"), str(fields.get("path") or "")
    for name, value in (("from", phone), ("to", number)):
        if not _PHONE.match(value):
            raise UsageError(f"{name}: expected a phone number such as +15005550006, got {value!r}")
    if not isinstance(body, str) or not body or len(body) > 1600:
        raise UsageError("body: expected 1 to 1600 characters")
    if not path.startswith("/") or path.startswith("/_murano-sim"):
        raise UsageError(f"path: expected one of the solution's endpoint paths, got {path!r}")
    emulator.receive_message(to=number, from_=phone, body=body, url=request.host_url.rstrip("/") + path)
    return phone_thread(app, phone, number)


def phone_view(app: Any, request: Any) -> dict[str, Any]:
    return phone_thread(app, request.args.get("from", ""), request.args.get("to") or None)


def phone_thread(app: Any, phone: str, number: str | None = None) -> dict[str, Any]:
    """The conversation of one phone with the solution: its inbound messages, the solution's
    TwiML replies to them, and the messages the solution sent to it, in time order."""
    emulator = _emulator(app)
    secrets = app.runtime.config.secrets()
    entries: list[dict[str, Any]] = []
    for message in emulator.messages():
        if message.get("from") == phone and message.get("direction") == "inbound":
            if number and message.get("to") != number:
                continue
            entries.append({"from_phone": True, "body": message["body"], "at": message["date_created"],
                            "sid": message["sid"], "status": message["status"], "source": "sms"})
        elif message.get("to") == phone and str(message.get("direction", "")).startswith("outbound"):
            entries.append({"from_phone": False, "body": message["body"], "at": message["date_created"],
                            "sid": message["sid"], "status": message["status"], "source": "api"})
    replies = {}
    for delivery in list(emulator.deliveries):
        if delivery.kind == "inbound-sms" and delivery.params.get("From") == phone:
            replies[delivery.params.get("MessageSid")] = delivery
    ordered: list[dict[str, Any]] = []
    for entry in entries:
        ordered.append(entry)
        delivery = replies.get(entry.get("sid")) if entry["from_phone"] else None
        if delivery is None:
            continue
        if not delivery.ok:
            ordered.append({"from_phone": False, "source": "error", "at": entry["at"],
                            "body": f"webhook not delivered: {delivery.error or delivery.status}"})
        for text in twiml_messages(delivery.body or ""):
            ordered.append({"from_phone": False, "source": "twiml", "at": entry["at"], "body": redact(text, secrets)})
    return {"phone": phone, "number": number, "messages": ordered}


def twiml_messages(body: str) -> list[str]:
    """The texts of a TwiML answer's <Message> verbs (<Message>text</Message> or <Message><Body>)."""
    try:  # the solution's answer is untrusted XML: a hardened parser (no entity expansion)
        root = defused_fromstring(body)
    except (ParseError, DefusedXmlException):
        return []
    if root.tag != "Response":
        return []
    out = []
    for verb in root.iter("Message"):
        inner = verb.find("Body")
        out.append(((inner.text if inner is not None else verb.text) or "").strip())
    return out


PANEL = ConsolePanel(title="Phone", routes=(
    PanelRoute("/twilio", ("GET",), twilio_view),
    PanelRoute("/twilio/calls/<sid>", ("GET",), call_detail),
    PanelRoute("/twilio/calls/<sid>/digits", ("POST",), press_digits),
    PanelRoute("/phone", ("GET",), phone_view),
    PanelRoute("/phone/sms", ("POST",), send_sms),
))
