"""What each console view shows, read from the solution's services (JSON-ready dicts).

The console reads and changes the services through their models' own views (the ones tests and
fixtures use), under the state's lock, never through a script's call log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from ..config import redact
from ..errors import ConfigError, UsageError
from ..services.local import ServiceError
from ..solution.report import solution_report


class BadInput(Exception):
    """The console's caller sent something unusable: a 400 with this one line."""


def model(app: Any, alias: str) -> Any:
    service = app.runtime.platform.by_alias.get(alias)
    found = getattr(service, "model", None)
    if found is None:
        raise BadInput(f"the {alias} service is not emulated in this configuration")
    return found


# -- Solution ------------------------------------------------------------------------------------
def solution_view(app: Any) -> dict[str, Any]:
    try:
        solution = app.solution
    except ConfigError as exc:
        return {"load_error": str(exc)}
    report = solution_report(solution)
    report["load_error"] = None
    return report


# -- Clock ---------------------------------------------------------------------------------------
def clock_view(app: Any) -> dict[str, Any]:
    platform = app.runtime.platform
    now = platform.clock.now()
    due = [source.next_due() for source in platform.due_sources()]
    upcoming = min((d for d in due if d is not None), default=None)
    return {
        "now": now.isoformat(timespec="milliseconds"),
        "epoch": now.timestamp(),
        "offset_seconds": getattr(platform.clock, "offset", None),
        "next_due": upcoming.isoformat(timespec="milliseconds") if upcoming else None,
    }


def advance(app: Any, seconds: Any) -> dict[str, Any]:
    """Advance the solution's clock; answers the time before and after and what ran meanwhile."""
    try:
        amount = float(seconds)
    except (TypeError, ValueError):
        raise BadInput(f"seconds: expected a number, got {seconds!r}") from None
    if not 0 <= amount <= 10 * 365 * 86400:
        raise BadInput(f"seconds: must be from 0 to ten years, got {seconds!r}")
    before = clock_view(app)
    first = app.console.executions.last_id()
    app.runtime.platform.advance(amount)
    app.deliver_events()
    return {"before": before, "after": clock_view(app), "ran": app.console.executions.list(since=first)}


# -- Twilio --------------------------------------------------------------------------------------
def twilio_view(app: Any) -> dict[str, Any]:
    emulator = app.runtime.platform.emulator
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


_TIMELINE_FIELDS = ("date_created", "date_sent", "start_time", "end_time", "date_updated")


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


# -- the phone -----------------------------------------------------------------------------------
def calls_supported(emulator: Any) -> bool:
    """Whether the emulator plays calls (transcripts, digits): the local emulator does."""
    return emulator is not None and callable(getattr(emulator, "transcript", None))


def call_detail(app: Any, sid: str) -> dict[str, Any]:
    emulator = _emulator(app)
    try:
        return {"sid": sid, "transcript": emulator.transcript(sid)}
    except UsageError as exc:
        raise BadInput(str(exc)) from None


def press_digits(app: Any, sid: str, digits: Any) -> dict[str, Any]:
    """Press keys on a call as the person on the line; the TwiML's <Gather> takes them."""
    emulator = _emulator(app)
    if not isinstance(digits, str) or not re.fullmatch(r"[0-9*#w]{1,32}", digits):
        raise BadInput("digits: expected 1 to 32 of 0-9, * and #")
    try:
        emulator.press(sid, digits)
    except UsageError as exc:
        raise BadInput(str(exc)) from None
    return call_detail(app, sid)


def _emulator(app: Any) -> Any:
    emulator = app.runtime.platform.emulator
    if emulator is None:
        raise BadInput("Twilio is not emulated here (services.twilio.backend is not local)")
    return emulator


_PHONE = re.compile(r"^\+?[0-9A-Za-z:@._-]{1,64}$")


def send_sms(app: Any, base_url: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """An inbound SMS from `from` to `to`, stored by the emulator and posted (signed) to the
    solution's endpoint `path`, as Twilio delivers one; answers the thread afterwards."""
    emulator = _emulator(app)
    phone, number = str(fields.get("from") or ""), str(fields.get("to") or "")
    body, path = fields.get("body"), str(fields.get("path") or "")
    for name, value in (("from", phone), ("to", number)):
        if not _PHONE.match(value):
            raise BadInput(f"{name}: expected a phone number such as +15005550006, got {value!r}")
    if not isinstance(body, str) or not body or len(body) > 1600:
        raise BadInput("body: expected 1 to 1600 characters")
    if not path.startswith("/") or path.startswith("/_murano-sim"):
        raise BadInput(f"path: expected one of the solution's endpoint paths, got {path!r}")
    emulator.receive_message(to=number, from_=phone, body=body, url=base_url.rstrip("/") + path)
    return phone_thread(app, phone, number)


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


# -- Data: Keystore ------------------------------------------------------------------------------
def keystore_view(app: Any) -> dict[str, Any]:
    store = model(app, "keystore")
    with app.runtime.state.lock:
        keys = []
        for key in store.keys():
            try:
                value, kind = store.read(key), "string"
            except ServiceError:  # a hash, list or set: Keystore.get refuses it; show its type
                value, kind = None, store.client.type(store.prefix + key)
            keys.append({"key": key, "type": kind, "value": value})
    return {"keys": keys}


def keystore_set(app: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    key, value = fields.get("key"), fields.get("value")
    if not isinstance(key, str) or not key or len(key) > 1024:
        raise BadInput("key: expected 1 to 1024 characters")
    if not isinstance(value, str):
        raise BadInput("value: expected a string")
    with app.runtime.state.lock:
        model(app, "keystore").write(key, value)
    return keystore_view(app)


def keystore_delete(app: Any, key: str) -> dict[str, Any]:
    with app.runtime.state.lock:
        model(app, "keystore").remove(key)
    return keystore_view(app)


# -- Data: Tsdb ----------------------------------------------------------------------------------
WINDOWS = {"15m": 900, "1h": 3600, "6h": 21600, "1d": 86400, "7d": 604800, "30d": 2592000}


def tsdb_view(app: Any, metric: str | None, tags: Mapping[str, str], window: str) -> dict[str, Any]:
    tsdb = model(app, "tsdb")
    if window not in WINDOWS:
        raise BadInput(f"window: expected one of {', '.join(WINDOWS)}, got {window!r}")
    with app.runtime.state.lock:
        metrics = tsdb.listMetrics({}).get("metrics", [])
        all_tags = tsdb.listTags({}).get("tags", {})
        points: list[list[Any]] = []
        if metric:
            result = tsdb.query({
                "metrics": [metric], "tags": dict(tags), "relative_start": f"-{WINDOWS[window]}s",
                "limit": 5000, "order_by": "asc", "epoch": "ms",
            })
            points = [[row[0], row[1]] for row in result.get("values", []) if row[1] is not None]
    return {"metrics": metrics, "tags": all_tags, "metric": metric, "window": window, "windows": list(WINDOWS),
            "points": points}


# -- Data: the rest ------------------------------------------------------------------------------
def timers_view(app: Any) -> dict[str, Any]:
    with app.runtime.state.lock:
        pending = model(app, "timer").pending()
    return {"timers": [{**t, "due": t["due"].isoformat(timespec="milliseconds")} for t in pending]}


def devices_view(app: Any) -> dict[str, Any]:
    device2 = model(app, "device2")
    with app.runtime.state.lock:
        devices = device2.listIdentities({"limit": 1000}).get("devices", [])
        resources = device2.resources()
    return {"devices": devices, "resources": resources}


def device_data_in(app: Any, identity: str, values: Any) -> dict[str, Any]:
    if not isinstance(values, dict) or not values:
        raise BadInput('values: expected an object of resource values, e.g. {"temperature": 21}')
    model(app, "device2").data_in(identity, values, ip="127.0.0.1")
    app.deliver_events()
    return devices_view(app)


def users_view(app: Any) -> dict[str, Any]:
    users = model(app, "user")
    with app.runtime.state.lock:
        listed = users.listUsers({})
        rows = listed["items"] if isinstance(listed, dict) else listed
        out = []
        for user in rows:
            roles = users.listUserRoles({"id": user["id"]})
            out.append({**user, "roles": roles})
        roles = users.listRoles({})
    return {"users": out, "roles": roles}


def email_view(app: Any) -> dict[str, Any]:
    with app.runtime.state.lock:
        outbox = model(app, "email").outbox()
    secrets = app.runtime.config.secrets()
    return {"outbox": [{k: redact(v, secrets) if isinstance(v, str) else v for k, v in m.items()} for m in outbox]}
