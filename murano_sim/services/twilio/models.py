"""The domain: Twilio's records, their validation rules, message segments and lifecycle timings.

Nothing here knows about HTTP; the wire layer parses requests into plain values first.
"""

from __future__ import annotations

import math
import mimetypes
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import regex

from ...net.hosts import parse_http_url
from .errors import bad_request, invalid_parameter

API_VERSION = "2010-04-01"

# --- segments ------------------------------------------------------------------------------

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = set("^{}\\[~]|€\f")  # each costs an escape septet plus itself (\f: page break)
_GRAPHEME = regex.compile(r"\X")


def _pack(costs: Sequence[int], single: int, multi: int) -> int:
    """Segments needed for units of the given costs: one segment if all fit, else greedy packing
    (a unit never straddles two segments, as an escape pair or surrogate pair cannot)."""
    if sum(costs) <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments, used = segments + 1, 0
        used += cost
    return segments


def segments_for(body: str) -> int:
    """How many SMS segments Twilio bills for a body (GSM-7 when possible, else UCS-2).

    The packing unit is a grapheme cluster: a segment never splits one (an emoji with a skin
    tone or a letter with its combining accent stays whole), as handsets would show it broken.
    """
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in body):
        return _pack([2 if ch in _GSM7_EXTENSION else 1 for ch in body], 160, 153)
    clusters = _GRAPHEME.findall(body)
    return _pack([sum(2 if ord(ch) > 0xFFFF else 1 for ch in c) for c in clusters], 70, 67)  # UTF-16 units


# Twilio's Smart Encoding: Unicode look-alikes replaced by GSM-7 characters before segmenting.
_SMART = {
    "\u00ab": '"', "\u00bb": '"', "\u201c": '"', "\u201d": '"', "\u02ba": '"', "\u02ee": '"', "\u201f": '"',
    "\u275d": '"', "\u275e": '"', "\u301d": '"', "\u301e": '"', "\uff02": '"', "\u2018": "'", "\u2019": "'",
    "\u02bb": "'", "\u02c8": "'", "\u02bc": "'", "\u02bd": "'", "\u02b9": "'", "\u201b": "'", "\uff07": "'",
    "\u00b4": "'", "\u02ca": "'", "\u0060": "'", "\u02cb": "'", "\u275b": "'", "\u275c": "'", "\u0313": "'",
    "\u0314": "'", "\ufe10": ",", "\ufe50": ",", "\uff0c": ",", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-", "\ufe63": "-", "\uff0d": "-", "\u2026": "...",
    "\u00a0": " ", "\u2000": " ", "\u2001": " ", "\u2002": " ", "\u2003": " ", "\u2004": " ", "\u2005": " ",
    "\u2006": " ", "\u2007": " ", "\u2008": " ", "\u2009": " ", "\u200a": " ", "\u202f": " ", "\u205f": " ",
    "\u3000": " ", "\u200b": "", "\u2060": "", "\ufeff": "", "\u2039": "<", "\u203a": ">", "\u2022": "-",
    "\u00b8": ",", "\u02c6": "^", "\u02dc": "~", "\u2024": ".", "\u2027": "-", "\u2044": "/", "\u2215": "/",
    "\ufe14": ";", "\ufe55": ":", "\uff1a": ":", "\uff1b": ";", "\u01c0": "|", "\u01c3": "!",
}
_SMART_TABLE = str.maketrans(_SMART)


def smart_encode(body: str) -> str:
    """The body as Twilio sends it with SmartEncoded=true (look-alikes become GSM-7)."""
    return body.translate(_SMART_TABLE)


# --- records -------------------------------------------------------------------------------


def rfc2822(when: datetime) -> str:
    """Twilio's date format: 'Thu, 24 Aug 2023 05:01:45 +0000'."""
    return format_datetime(when, usegmt=False)


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


@dataclass(slots=True)
class Message:
    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    status: str
    direction: str
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None = None
    num_segments: int = 1
    num_media: int = 0
    price: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    outcome: str = "delivered"  # the final status the network gives it (emulator.numbers, outcome())
    outcome_code: int | None = None  # the error code it will fail with
    test: bool = False  # made with test credentials: nothing is sent, nothing changes
    seq: int = 0


@dataclass(slots=True)
class Media:
    sid: str
    account_sid: str
    parent_sid: str
    content_type: str
    url: str
    date_created: datetime
    date_updated: datetime
    seq: int = 0


@dataclass(slots=True)
class Call:
    sid: str
    account_sid: str
    to: str
    from_: str
    status: str
    direction: str
    date_created: datetime
    date_updated: datetime
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    planned_duration: int = 5
    parent_call_sid: str | None = None
    url: str | None = None
    method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"
    twiml: str | None = None
    application_sid: str | None = None
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: list[str] = field(default_factory=lambda: ["completed"])
    callback_sequence: int = 0
    price: str | None = None
    outcome: str = "completed"  # how the callee answers: completed | busy | no-answer | failed | canceled
    timeout: int = 60  # seconds of ringing before no-answer
    answer_after: int = 3  # seconds from creation to the answer (0 for inbound calls)
    machine_detection: str | None = None
    answered_by: str | None = None
    test: bool = False
    # The TwiML interpreter's state: the document running, the next verb, a Gather waiting for input.
    doc: str | None = None
    doc_url: str | None = None
    pc: int = 0
    gather: dict[str, Any] | None = None
    gather_until: datetime | None = None
    ends_at: datetime | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0


@dataclass(slots=True)
class PhoneNumber:
    """An owned number (IncomingPhoneNumbers): where its inbound SMS and calls go."""

    sid: str
    account_sid: str
    phone_number: str
    date_created: datetime
    date_updated: datetime
    friendly_name: str = ""
    sms_url: str | None = None
    sms_method: str = "POST"
    voice_url: str | None = None
    voice_method: str = "POST"
    status_callback: str | None = None
    seq: int = 0


Record = Message | Media | Call | PhoneNumber
RECORD_TYPES: dict[str, type] = {"Message": Message, "Media": Media, "Call": Call, "PhoneNumber": PhoneNumber}
_DATE_FIELDS = {"date_created", "date_updated", "date_sent", "start_time", "end_time", "gather_until", "ends_at"}


def to_state(record: Record) -> dict[str, Any]:
    """A JSON-safe dict of a record (for SQLite and reset snapshots)."""
    out: dict[str, Any] = {"kind": type(record).__name__}
    for f in fields(record):
        value = getattr(record, f.name)
        out[f.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def from_state(state: Mapping[str, Any]) -> Record:
    cls = RECORD_TYPES[state["kind"]]
    values = {}
    for f in fields(cls):
        if f.name in state:
            value = state[f.name]
            if f.name in _DATE_FIELDS and value is not None:
                value = datetime.fromisoformat(value)
            values[f.name] = list(value) if isinstance(value, list) else value
    return cls(**values)


@dataclass(frozen=True)
class Webhook:
    """An HTTP request Twilio would make to the user's application."""

    kind: str  # message-status | call-status | twiml | inbound-sms | inbound-call
    url: str
    method: str
    params: dict[str, str]
    account_sid: str


# --- how the network treats a number (emulator.numbers, outcome(), the control plane) -----

SMS_OUTCOMES = ("delivered", "undelivered", "failed")
CALL_OUTCOMES = ("completed", "busy", "no-answer", "failed", "canceled")
ANSWERED_BY = ("human", "machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax",
               "unknown")
MACHINE_DETECTION = ("Enable", "DetectMessageEnd")
SMS_ERRORS = {
    30001: "Queue overflow", 30002: "Account suspended", 30003: "Unreachable destination handset",
    30004: "Message blocked", 30005: "Unknown destination handset", 30006: "Landline or unreachable carrier",
    30007: "Message filtered", 30008: "Unknown error", 30034: "Message from an unregistered number",
}
DEFAULT_SMS_ERROR = {"undelivered": 30003, "failed": 30008}
RULE_KEYS = ("sms", "error_code", "call", "answered_by", "sms_url", "sms_method", "voice_url", "voice_method")


@dataclass
class NumberRule:
    """What happens to traffic for one number; from config.yaml or set at run time."""

    number: str
    sms: str = "delivered"
    error_code: int | None = None
    call: str = "completed"
    answered_by: str = "human"
    sms_url: str | None = None
    sms_method: str = "POST"
    voice_url: str | None = None
    voice_method: str = "POST"
    from_config: bool = False
    used: bool = False

    @property
    def owned(self) -> bool:
        return bool(self.sms_url or self.voice_url)

    def describe(self) -> str:
        parts = [f"sms={self.sms}" if self.sms != "delivered" else "", f"call={self.call}" if self.call != "completed"
                 else "", f"answered_by={self.answered_by}" if self.answered_by != "human" else ""]
        return f"{self.number} ({', '.join(p for p in parts if p) or 'routing only'})"


def number_rule(number: Any, rule: Mapping[str, Any], *, from_config: bool = False) -> NumberRule:
    """Check one rule; ValueError with one line naming the number and the key that is wrong."""
    if not isinstance(number, str) or not _E164.match(number):
        raise ValueError(f"numbers: {number!r} is not an E.164 number such as +15551230001")
    unknown = sorted(set(rule) - set(RULE_KEYS))
    if unknown:
        raise ValueError(f"numbers.{number}: unknown key {unknown[0]!r} (known: {', '.join(RULE_KEYS)})")
    out = NumberRule(number, from_config=from_config)
    for key, allowed in (("sms", SMS_OUTCOMES), ("call", CALL_OUTCOMES), ("answered_by", ANSWERED_BY)):
        if key in rule and rule[key] is not None:
            if rule[key] not in allowed:
                raise ValueError(f"numbers.{number}.{key}: {rule[key]!r} is not one of {', '.join(allowed)}")
            setattr(out, key, str(rule[key]))
    code = rule.get("error_code")
    if code is not None:
        if isinstance(code, bool) or not str(code).isdigit():
            raise ValueError(f"numbers.{number}.error_code: {code!r} is not a Twilio error code")
        if out.sms == "delivered":
            raise ValueError(f"numbers.{number}.error_code: needs sms: undelivered or failed")
        out.error_code = int(code)
    for key in ("sms_url", "voice_url"):
        url = rule.get(key)
        if url is not None:
            if not isinstance(url, str) or not (url.startswith("/") or _is_http_url(url)):
                raise ValueError(f"numbers.{number}.{key}: {url!r} is not an http(s) URL or a /path")
            setattr(out, key, url)
    for key in ("sms_method", "voice_method"):
        method = str(rule.get(key) or "POST").upper()
        if method not in ("GET", "POST"):
            raise ValueError(f"numbers.{number}.{key}: must be GET or POST, got {rule.get(key)!r}")
        setattr(out, key, method)
    return out


# --- opt-out keywords (Twilio's default Advanced Opt-Out) -----------------------------------

OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
OPT_IN_WORDS = {"START", "YES", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}
OPT_REPLIES = {
    "STOP": "You have successfully been unsubscribed. You will not receive any more messages from this number. "
            "Reply START to resubscribe.",
    "START": "You have successfully been re-subscribed to messages from this number. Reply HELP for help. "
             "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
    "HELP": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}


def opt_keyword(body: str) -> str | None:
    """STOP, START or HELP when the whole body (trimmed, any case) is one of their keywords."""
    word = body.strip().upper()
    if word in OPT_OUT_WORDS:
        return "STOP"
    if word in OPT_IN_WORDS:
        return "START"
    if word in HELP_WORDS:
        return "HELP"
    return None


# --- statuses and lifecycle ----------------------------------------------------------------

MESSAGE_STATUSES = (
    "queued sending sent failed delivered undelivered receiving received accepted scheduled read "
    "partially_delivered canceled"
).split()
CALL_STATUSES = "queued ringing in-progress completed busy failed no-answer canceled".split()
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")

# Seconds after creation at which an outbound message reaches each status.
MESSAGE_STEPS = {"accepted": ("queued", 0), "queued": ("sending", 1), "sending": ("sent", 2), "sent": ("delivered", 3)}
CALL_RINGING_AFTER = 1
CALL_ANSWERED_AFTER = 3
# A message is deletable once final; `sent` is not final while delivery is pending.
UNDELETABLE_MESSAGE_STATUSES = {"accepted", "scheduled", "queued", "sending", "receiving"}
LIVE_CALL_STATUSES = {"queued", "ringing", "in-progress"}


def next_message_step(message: Message) -> tuple[str, datetime] | None:
    if message.direction == "inbound" or message.test or message.status not in MESSAGE_STEPS:
        return None
    created = message.date_created
    if message.outcome == "failed" and message.status == "queued":
        return "failed", created + timedelta(seconds=1)
    if message.outcome == "undelivered" and message.status == "sent":
        return "undelivered", created + timedelta(seconds=3)
    status, offset = MESSAGE_STEPS[message.status]
    return status, created + timedelta(seconds=offset)


def next_call_step(call: Call) -> tuple[str, datetime] | None:
    if call.test:
        return None
    created = call.date_created
    if call.status == "queued":
        return ("failed" if call.outcome == "failed" else "ringing"), created + timedelta(seconds=CALL_RINGING_AFTER)
    if call.status == "ringing":
        if call.outcome == "no-answer":
            return "no-answer", created + timedelta(seconds=CALL_RINGING_AFTER + call.timeout)
        answer = created + timedelta(seconds=call.answer_after)
        return (call.outcome if call.outcome in ("busy", "canceled") else "in-progress"), answer
    if call.status == "in-progress":
        if call.gather_until is not None:
            return "gather-timeout", call.gather_until
        started = call.start_time or created
        return "completed", call.ends_at or started + timedelta(seconds=call.planned_duration)
    return None


def is_final(record: Message | Call) -> bool:
    """No lifecycle step will change this record any more (it may be evicted from a full store)."""
    if isinstance(record, Message):
        return record.status not in UNDELETABLE_MESSAGE_STATUSES and next_message_step(record) is None
    return record.status not in LIVE_CALL_STATUSES


def message_price(message: Message) -> str:
    per_unit = 0.02 if message.num_media else 0.0079
    units = 1 if message.num_media else message.num_segments
    return f"{-per_unit * units:.5f}"


def call_price(seconds: int) -> str:
    return f"{-0.014 * max(1, math.ceil(seconds / 60)):.5f}"


# --- rules for creating records ------------------------------------------------------------

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_SHORT_CODE = re.compile(r"^\d{5,6}$")
_ALPHA_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")

# Twilio's test-credential numbers; the emulator honours them for every account.
MESSAGE_FROM_MAGIC = {
    "+15005550001": (21212, "The 'From' number +15005550001 is not a valid phone number, shortcode, or alphanumeric "
                     "sender ID."),
    "+15005550007": (21606, "The 'From' phone number provided (+15005550007) is not a valid message-capable Twilio "
                     "phone number for this destination/account."),
    "+15005550008": (21611, "This 'From' number has exceeded the maximum number of queued messages."),
}
MESSAGE_TO_MAGIC = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone "
                     "number via SMS."),
    "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' "
                     "number: +15005550003."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}
CALL_FROM_MAGIC = {
    "+15005550001": (21212, "The 'From' number +15005550001 is not a valid phone number or client identifier."),
}
CALL_TO_MAGIC = {
    "+15005550001": (21217, "Phone number does not appear to be valid"),
    "+15005550002": (21214, "'To' phone number cannot be reached"),
    "+15005550003": (21215, "Account not authorized to call +15005550003. Perhaps you need to enable some "
                     "international permissions."),
    "+15005550004": (21216, "Account not allowed to call +15005550004"),
}
MAGIC_SUCCESS_FROM = "+15005550006"
MAX_BODY = 1600
MAX_MEDIA = 10
MAX_CALLBACK_URL = 4000
MAX_TWIML = 4000


def _is_http_url(value: str) -> bool:
    # Read by the HTTP client's own parser (userinfo is allowed here; delivery refuses it).
    return parse_http_url(value) is not None


def _strip_channel(address: str) -> str:
    return address.split(":", 1)[1] if address.startswith("whatsapp:") else address


def valid_to(address: str) -> bool:
    return bool(_E164.match(_strip_channel(address)))


def valid_sender(address: str) -> bool:
    bare = _strip_channel(address)
    return bool(_E164.match(bare) or _SHORT_CODE.match(bare) or _ALPHA_SENDER.match(bare))


def check_callback(url: str) -> None:
    """A StatusCallback as Twilio accepts it: http(s), a host without underscores, at most 4000 characters."""
    parsed = parse_http_url(url)
    if parsed is None or len(url) > MAX_CALLBACK_URL or "_" in (parsed.host or ""):
        raise bad_request(21609, f"Invalid StatusCallback URL: {url[:200]}")


@dataclass(frozen=True)
class Credentials:
    """Who is asking: a test account answers as Twilio's test credentials; `magic`: the magic
    numbers apply to this account (always for test accounts; for others unless
    emulator.magic_numbers is test-accounts)."""

    test: bool = False
    magic: bool = True


LIVE = Credentials()


def _raise_magic(table: Mapping[str, tuple[int, str]], number: str) -> None:
    if number in table:
        code, message = table[number]
        raise bad_request(code, message)


@dataclass(frozen=True)
class MessageRequest:
    """The fields of a create-message request the emulator acts on."""

    to: str | None
    from_: str | None
    body: str | None
    media_urls: tuple[str, ...] = ()
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    smart_encoded: bool = False


def check_message_request(req: MessageRequest, owned_numbers: Sequence[str], who: Credentials = LIVE) -> None:
    """Raise the TwilioError Twilio would give for this create-message request, if any."""
    if not req.to:
        raise bad_request(21604, "A 'To' phone number is required.")
    if not req.from_ and not req.messaging_service_sid:
        raise bad_request(21603, "A 'From' phone number is required.")
    if not req.body and not req.media_urls:
        raise bad_request(21602, "Message body is required.")
    if req.body and len(req.body) > MAX_BODY:
        raise bad_request(21617, "The concatenated message body exceeds the 1600 character limit.")
    if len(req.media_urls) > MAX_MEDIA:
        raise bad_request(21623, "Number of media files exceeds allowed limit of 10.")
    if any(not _is_http_url(url) for url in req.media_urls):
        raise bad_request(21620, "Invalid media URL(s).")
    if req.status_callback:
        check_callback(req.status_callback)
    if req.messaging_service_sid and not re.match(r"^MG[0-9a-fA-F]{32}$", req.messaging_service_sid):
        raise invalid_parameter(f"Invalid MessagingServiceSid: {req.messaging_service_sid}")
    if req.from_:
        if who.magic:
            _raise_magic(MESSAGE_FROM_MAGIC, req.from_)
        if not valid_sender(req.from_):
            raise bad_request(21212, f"The 'From' number {req.from_} is not a valid phone number, shortcode, "
                                     "or alphanumeric sender ID.")
    if who.magic:
        _raise_magic(MESSAGE_TO_MAGIC, req.to)
    if not valid_to(req.to):
        raise bad_request(21211, f"The 'To' number {req.to} is not a valid phone number.")
    if who.test and req.from_ != MAGIC_SUCCESS_FROM:  # test credentials own no number but the magic one
        raise bad_request(21606, f"The 'From' phone number provided ({req.from_}) is not a valid message-capable "
                                 "Twilio phone number for this destination/account.")
    exempt = who.magic and req.from_ == MAGIC_SUCCESS_FROM
    if req.from_ and owned_numbers and not exempt and req.from_ not in owned_numbers:
        raise bad_request(21606, f"The 'From' phone number provided ({req.from_}) is not a valid message-capable "
                                 "Twilio phone number for this destination/account.")


@dataclass(frozen=True)
class CallRequest:
    to: str | None
    from_: str | None
    url: str | None = None
    method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"
    twiml: str | None = None
    application_sid: str | None = None
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: tuple[str, ...] = ()
    machine_detection: str | None = None
    timeout: int = 60


def _valid_callee(address: str) -> bool:
    return address.startswith(("client:", "sip:")) or valid_to(address)


def check_call_request(req: CallRequest, owned_numbers: Sequence[str], who: Credentials = LIVE) -> None:
    """Raise the TwilioError Twilio would give for this create-call request, if any."""
    if not req.to:
        raise bad_request(21201, "No 'To' number is specified")
    if not req.from_:
        raise bad_request(21213, "No 'From' number is specified")
    if not (req.url or req.twiml or req.application_sid):
        raise bad_request(21205, "Url parameter is required.")
    for name, url in (("Url", req.url), ("FallbackUrl", req.fallback_url)):
        if url and not _is_http_url(url):
            raise bad_request(21205, f"{name} is not a valid URL: {url}")
    if req.twiml and len(req.twiml) > MAX_TWIML:
        raise invalid_parameter(f"Twiml must be at most {MAX_TWIML} characters, got {len(req.twiml)}")
    if req.status_callback:
        check_callback(req.status_callback)
    if req.machine_detection is not None and req.machine_detection not in MACHINE_DETECTION:
        raise invalid_parameter(f"MachineDetection must be Enable or DetectMessageEnd, got {req.machine_detection!r}")
    if req.application_sid and not re.match(r"^AP[0-9a-fA-F]{32}$", req.application_sid):
        raise invalid_parameter(f"Invalid ApplicationSid: {req.application_sid}")
    for name, method in (("Method", req.method), ("FallbackMethod", req.fallback_method),
                         ("StatusCallbackMethod", req.status_callback_method)):
        if method not in ("GET", "POST"):
            raise invalid_parameter(f"{name} must be GET or POST, got {method}")
    for event in req.status_callback_events:
        if event not in CALL_EVENTS:
            raise bad_request(21626, f"Invalid StatusCallbackEvents: {event!r} is not one of "
                                     f"{', '.join(CALL_EVENTS)}")
    if who.magic:
        _raise_magic(CALL_FROM_MAGIC, req.from_)
    if not (_valid_callee(req.from_) or valid_sender(req.from_)):
        raise bad_request(21212, f"The 'From' number {req.from_} is not a valid phone number or client identifier.")
    if who.magic:
        _raise_magic(CALL_TO_MAGIC, req.to)
    if not _valid_callee(req.to):
        raise bad_request(21211, f"The 'To' number {req.to} is not a valid phone number.")
    if who.test and req.from_ != MAGIC_SUCCESS_FROM:
        raise bad_request(21210, f"The source phone number provided, {req.from_}, is not yet verified for your "
                                 "account.")
    exempt = who.magic and req.from_ == MAGIC_SUCCESS_FROM
    if owned_numbers and not exempt and req.from_ not in owned_numbers:
        raise bad_request(21210, f"The source phone number provided, {req.from_}, is not yet verified for your "
                                 "account.")


def content_type_for(url: str) -> str:
    """The media content type Twilio would report, guessed from the URL's extension (no network)."""
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    return guessed or "application/octet-stream"


def check_ttl(raw: str | None) -> int:
    if raw is None or raw == "":
        return 86400
    if not re.fullmatch(r"\d{1,9}", raw.strip()):
        raise invalid_parameter(f"Ttl must be a non-negative integer, got {raw!r}")
    return int(raw)


def check_sid(value: str, prefixes: tuple[str, ...]) -> bool:
    return bool(_SID.match(value)) and value[:2] in prefixes

