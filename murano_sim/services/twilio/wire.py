"""The wire format: Twilio's JSON for each resource, list envelopes, error bodies, and parsing of
list query parameters. No rules live here; the backend decides, this module only translates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from .backend import DateBound, ListQuery, Page, Token
from .errors import TwilioError, invalid_parameter
from .models import API_VERSION, Call, Media, Message, PhoneNumber, Record, rfc2822

ACCOUNTS = "/2010-04-01/Accounts"


def _date(when: datetime | None) -> str | None:
    return rfc2822(when) if when is not None else None


def _formatted(number: str) -> str:
    """Twilio's display form of a North American number, e.g. (500) 555-0006."""
    m = re.fullmatch(r"\+1(\d{3})(\d{3})(\d{4})", number)
    return f"({m[1]}) {m[2]}-{m[3]}" if m else number


def message_json(m: Message) -> dict[str, Any]:
    base = f"{ACCOUNTS}/{m.account_sid}/Messages/{m.sid}"
    return {
        "account_sid": m.account_sid,
        "api_version": API_VERSION,
        "body": m.body,
        "date_created": _date(m.date_created),
        "date_sent": _date(m.date_sent),
        "date_updated": _date(m.date_updated),
        "direction": m.direction,
        "error_code": m.error_code,
        "error_message": m.error_message,
        "from": m.from_,
        "messaging_service_sid": m.messaging_service_sid,
        "num_media": str(m.num_media),
        "num_segments": str(m.num_segments),
        "price": m.price,
        "price_unit": "USD",
        "sid": m.sid,
        "status": m.status,
        "subresource_uris": {"media": f"{base}/Media.json"},
        "to": m.to,
        "uri": f"{base}.json",
    }


def media_json(m: Media) -> dict[str, Any]:
    return {
        "account_sid": m.account_sid,
        "content_type": m.content_type,
        "date_created": _date(m.date_created),
        "date_updated": _date(m.date_updated),
        "parent_sid": m.parent_sid,
        "sid": m.sid,
        "uri": f"{ACCOUNTS}/{m.account_sid}/Messages/{m.parent_sid}/Media/{m.sid}.json",
    }


_CALL_SUBRESOURCES = {
    "feedback": "Feedback", "user_defined_messages": "UserDefinedMessages", "notifications": "Notifications",
    "recordings": "Recordings", "streams": "Streams", "payments": "Payments",
    "user_defined_message_subscriptions": "UserDefinedMessageSubscriptions", "siprec": "Siprec", "events": "Events",
}


def call_json(c: Call) -> dict[str, Any]:
    base = f"{ACCOUNTS}/{c.account_sid}/Calls/{c.sid}"
    subresources = {key: f"{base}/{name}.json" for key, name in _CALL_SUBRESOURCES.items()}
    subresources["feedback_summaries"] = f"{ACCOUNTS}/{c.account_sid}/Calls/FeedbackSummary.json"
    return {
        "account_sid": c.account_sid,
        "answered_by": c.answered_by,
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": _date(c.date_created),
        "date_updated": _date(c.date_updated),
        "direction": c.direction,
        "duration": str(c.duration) if c.duration is not None else None,
        "end_time": _date(c.end_time),
        "forwarded_from": None,
        "from": c.from_,
        "from_formatted": _formatted(c.from_),
        "group_sid": None,
        "parent_call_sid": c.parent_call_sid,
        "phone_number_sid": None,
        "price": c.price,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": c.sid,
        "start_time": _date(c.start_time),
        "status": c.status,
        "subresource_uris": subresources,
        "to": c.to,
        "to_formatted": _formatted(c.to),
        "trunk_sid": None,
        "uri": f"{base}.json",
    }


def token_json(t: Token) -> dict[str, Any]:
    return {
        "account_sid": t.account_sid,
        "date_created": _date(t.date_created),
        "date_updated": _date(t.date_created),
        "ice_servers": t.ice_servers,
        "password": t.password,
        "ttl": str(t.ttl),  # the spec types ttl as a string, as Twilio sends it
        "username": t.username,
    }


def number_json(n: PhoneNumber, resolve: Any = lambda url: url) -> dict[str, Any]:
    return {
        "account_sid": n.account_sid, "address_sid": None, "address_requirements": "none",
        "api_version": API_VERSION, "beta": False,
        "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
        "date_created": _date(n.date_created), "date_updated": _date(n.date_updated),
        "friendly_name": n.friendly_name or _formatted(n.phone_number), "identity_sid": None,
        "phone_number": n.phone_number, "origin": "twilio", "sid": n.sid, "sms_application_sid": None,
        "sms_fallback_method": "POST", "sms_fallback_url": "", "sms_method": n.sms_method,
        "sms_url": resolve(n.sms_url) or n.sms_url or "", "status_callback": n.status_callback or "",
        "status_callback_method": "POST", "trunk_sid": None,
        "uri": f"{ACCOUNTS}/{n.account_sid}/IncomingPhoneNumbers/{n.sid}.json",
        "voice_receive_mode": "voice", "voice_application_sid": None, "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST", "voice_fallback_url": None, "voice_method": n.voice_method,
        "voice_url": resolve(n.voice_url) or n.voice_url, "emergency_status": "Inactive",
        "emergency_address_sid": None, "emergency_address_status": "unregistered", "bundle_sid": None,
        "status": "in-use", "type": "local",
    }


def account_json(sid: str, now: datetime) -> dict[str, Any]:
    """The account itself; the Auth Token is never shown (Twilio shows it; the emulator will not)."""
    base = f"{ACCOUNTS}/{sid}"
    names = ("addresses conferences incoming_phone_numbers notifications outgoing_caller_ids recordings "
             "transcriptions messages calls queues applications authorized_connect_apps available_phone_numbers "
             "balance keys media signing_keys connect_apps sip short_codes usage").split()
    camel = {n: "".join(part.capitalize() for part in n.split("_")) for n in names}
    camel.update({"sip": "SIP", "incoming_phone_numbers": "IncomingPhoneNumbers"})
    return {
        "auth_token": "[redacted]", "date_created": _date(now), "date_updated": _date(now),
        "friendly_name": "murano-sim emulated account", "owner_account_sid": sid, "sid": sid, "status": "active",
        "subresource_uris": {n: f"{base}/{camel[n]}.json" for n in names}, "type": "Full", "uri": f"{base}.json",
    }


def record_json(record: Record, resolve: Any = lambda url: url) -> dict[str, Any]:
    if isinstance(record, Message):
        return message_json(record)
    if isinstance(record, Call):
        return call_json(record)
    if isinstance(record, PhoneNumber):
        return number_json(record, resolve)
    return media_json(record)


# --- list queries ---------------------------------------------------------------------------


class Listing:
    """What one list resource accepts: equality filters and date filters (each also with < and >)."""

    def __init__(self, key: str, equals: Mapping[str, str], dates: Mapping[str, str]) -> None:
        self.key = key
        self.equals = dict(equals)
        self.dates = dict(dates)

    def filter_names(self) -> list[str]:
        names = list(self.equals)
        for name in self.dates:
            names += [name, name + "<", name + ">"]
        return names


MESSAGES = Listing("messages", {"To": "to", "From": "from_", "Status": "status"}, {"DateSent": "date_sent"})
CALLS = Listing(
    "calls",
    {"To": "to", "From": "from_", "Status": "status", "ParentCallSid": "parent_call_sid"},
    {"StartTime": "start_time", "EndTime": "end_time"},
)
MEDIA = Listing("media_list", {}, {"DateCreated": "date_created"})
NUMBERS = Listing("incoming_phone_numbers", {"PhoneNumber": "phone_number", "FriendlyName": "friendly_name"}, {})
MAX_PAGE_SIZE = 1000

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PAGE_TOKEN = re.compile(r"^(P[AB])([A-Z]{2}[0-9a-fA-F]{32})$")


def parse_when(name: str, raw: str) -> tuple[datetime, bool]:
    """A filter date: YYYY-MM-DD (date only) or an ISO 8601 date-time (UTC unless it says otherwise)."""
    text = raw.strip()
    try:
        if _DATE_ONLY.match(text):
            return datetime.fromisoformat(text).replace(tzinfo=timezone.utc), True
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
        # In UTC, a time at either end of the calendar can fall outside years 1-9999.
        return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc), False
    except (ValueError, OverflowError):
        raise invalid_parameter(f"Invalid value for {name}: {raw!r} (use YYYY-MM-DD)") from None


def _phone(value: str) -> str:
    # A raw '+' in a query string decodes to a space; Twilio reads it as the '+' that was meant.
    return "+" + value[1:] if value.startswith(" ") and value[1:].isdigit() else value


def _int(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    # At most 9 digits before int(): Python refuses to convert very long digit strings.
    if not re.fullmatch(r"\d{1,9}", raw.strip()) or not low <= int(raw) <= high:
        raise invalid_parameter(f"Invalid {name}: {raw!r} (must be an integer from {low} to {high})")
    return int(raw)


def _page_size(args: MultiDict) -> int:
    """PageSize: 1 or more; Twilio serves at most 1000 a page and caps a larger size, not refuses it."""
    return min(_int(args, "PageSize", 50, 1, 999_999_999), MAX_PAGE_SIZE)


def parse_list_query(args: MultiDict, listing: Listing) -> ListQuery:
    equals = {}
    for name, attr in listing.equals.items():
        value = args.get(name)
        if value:
            equals[attr] = _phone(value) if name in ("To", "From") else value
    bounds = []
    for name, attr in listing.dates.items():
        for op in ("=", "<", ">"):
            key = name if op == "=" else name + op
            if args.get(key):
                when, date_only = parse_when(key, args[key])
                bounds.append(DateBound(attr, op, when, date_only))
    token = args.get("PageToken") or None
    cursor = None
    if token is not None:
        m = _PAGE_TOKEN.match(token)
        if not m:
            raise TwilioError(400, 21481, "Invalid PageToken")
        cursor = (m[1], m[2])
    return ListQuery(
        equals=equals,
        bounds=tuple(bounds),
        page_size=_page_size(args),
        page=_int(args, "Page", 0, 0, 10_000_000),
        cursor=cursor,
    )


def page_json(path: str, args: MultiDict, listing: Listing, query: ListQuery, result: Page,
              resolve: Any = lambda url: url) -> dict[str, Any]:
    """The list envelope: exactly the meta keys the SDK knows plus one list key."""
    filters = [(name, args[name]) for name in listing.filter_names() if args.get(name)]

    def uri(page: int, token: str | None = None) -> str:
        params = filters + [("PageSize", str(query.page_size)), ("Page", str(page))]
        if token:
            params.append(("PageToken", token))
        return f"{path}?{urlencode(params)}"

    records = result.records
    current_token = "".join(query.cursor) if query.cursor else None
    start = query.page * query.page_size
    next_uri = uri(query.page + 1, "PA" + records[-1].sid) if result.has_next and records else None
    previous_uri = None
    if query.page > 0:
        previous_uri = uri(query.page - 1, "PB" + records[0].sid) if records else uri(query.page - 1)
    return {
        "end": start + max(len(records) - 1, 0),
        "first_page_uri": uri(0),
        listing.key: [record_json(r, resolve) for r in records],
        "next_page_uri": next_uri,
        "page": query.page,
        "page_size": query.page_size,
        "previous_page_uri": previous_uri,
        "start": start,
        "uri": uri(query.page, current_token),
    }


# --- responses ------------------------------------------------------------------------------


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status,
                    content_type="application/json; charset=utf-8")


def error_response(error: TwilioError) -> Response:
    response = json_response(error.body(), error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response
