"""The emulated Twilio account state: create, read, list, delete, and lifecycle steps.

All state changes happen under one lock; webhooks (status callbacks, TwiML fetches) are made
outside it through the `notify` and `fetch` callables the Emulator supplies.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...state.clock import Clock
from . import models
from .errors import TwilioError, bad_request, invalid_parameter
from .models import (
    API_VERSION,
    LIVE,
    Call,
    CallRequest,
    Credentials,
    Media,
    Message,
    MessageRequest,
    NumberRule,
    PhoneNumber,
    Record,
    Webhook,
    check_call_request,
    check_message_request,
    content_type_for,
    new_sid,
    next_call_step,
    next_message_step,
    segments_for,
    smart_encode,
)
from .store import MemoryStore, Scope, scope_of
from .twiml import Goto
from .voice import Voice


@dataclass(frozen=True)
class DateBound:
    """A date filter: op '=' same day, '<' on or before, '>' on or after; date-only values compare days."""

    field: str
    op: str
    value: datetime
    date_only: bool

    def accepts(self, record: Record) -> bool:
        when = getattr(record, self.field)
        if when is None:
            return False
        if self.op == "=" or self.date_only:
            left, right = when.date(), self.value.date()
        else:
            left, right = when, self.value
        return left == right if self.op == "=" else left <= right if self.op == "<" else left >= right


@dataclass(frozen=True)
class ListQuery:
    equals: dict[str, str] = field(default_factory=dict)  # record attribute -> required value
    bounds: tuple[DateBound, ...] = ()
    page_size: int = 50
    page: int = 0
    cursor: tuple[str, str] | None = None  # ("PA", sid): older than sid; ("PB", sid): newer than sid

    def accepts(self, record: Record) -> bool:
        return all(getattr(record, k) == v for k, v in self.equals.items()) and all(
            b.accepts(record) for b in self.bounds
        )


@dataclass
class Page:
    records: list[Record]
    has_next: bool


@dataclass(frozen=True)
class Token:
    account_sid: str
    ttl: int
    username: str
    password: str
    date_created: datetime
    ice_servers: list[dict[str, str]]


_EVENT_FOR_STATUS = {"ringing": "ringing", "in-progress": "answered"}


def _take(records: Iterator[Record], query: ListQuery, count: int, skip: int = 0) -> list[Record]:
    out: list[Record] = []
    for record in records:
        if query.accepts(record):
            if skip:
                skip -= 1
                continue
            out.append(record)
            if len(out) == count:
                break
    return out


class TwilioBackend:
    def __init__(
        self,
        store: MemoryStore,
        clock: Clock,
        *,
        owned_numbers: Sequence[str] = (),
        call_duration: int = 5,
        notify: Callable[[Webhook], bool] = lambda hook: False,
        fetch: Callable[[Webhook], Any] = lambda hook: None,
        max_records: int = 10_000,
        rules: Iterable[NumberRule] = (),
        lock: Any = None,
    ) -> None:
        """lock: the state lock (the solution's State's when the records are kept there), else a new one."""
        self.store = store
        self.clock = clock
        self.rules: dict[str, NumberRule] = {rule.number: rule for rule in rules}
        self.owned_numbers = list(owned_numbers) + [r.number for r in self.rules.values() if r.owned
                                                     and r.number not in owned_numbers]
        # (account, our number, their number) pairs where they replied STOP; persisted as meta
        self.opt_outs: set[tuple[str, str, str]] = {tuple(x) for x in store.get_meta("opt_outs") or []}
        self.ticking = False  # set while a background ticker applies due steps
        self.call_duration = call_duration
        self.notify = notify
        self.fetch = fetch
        self.max_records = max_records
        self.lock = lock if lock is not None else threading.RLock()
        self.generation = 0  # counts resets: a step in flight across one finishes without effect
        # One thread applies lifecycle steps at a time, in order, webhooks included; reset() takes
        # it too, so it never lands between a step and its webhooks. Re-entrant: a webhook
        # handled in this thread (a test's advance()) may reset.
        self.steps_lock = threading.RLock()
        self._due: list[tuple[datetime, int, str, str]] = []  # (when, tiebreak, sid, action)
        self._pending_hooks: list[Webhook] = []
        self._tiebreak = itertools.count()
        self.voice = Voice(self)  # the TwiML interpreter: runs a call's documents through this backend's steps
        self.reschedule()

    # --- messages ---------------------------------------------------------------------------

    def rule_for(self, number: str) -> NumberRule | None:
        """The rule for a recipient, marked used (an unused run-time rule fails the test)."""
        rule = self.rules.get(number)
        if rule is not None:
            rule.used = True
        return rule

    def create_message(self, account_sid: str, req: MessageRequest, who: Credentials = LIVE) -> Message:
        check_message_request(req, self.owned_numbers, who)
        with self.lock:
            if req.from_ and (account_sid, req.from_, req.to) in self.opt_outs:
                raise bad_request(21610, "Attempt to send to unsubscribed recipient")
            self.make_room(1 + len(req.media_urls))
            now = self.clock.now()
            body = smart_encode(req.body or "") if req.smart_encoded else (req.body or "")
            rule = None if who.test else self.rule_for(req.to or "")
            message = Message(
                sid=new_sid("MM" if req.media_urls else "SM"),
                account_sid=account_sid,
                to=req.to or "",
                from_=req.from_,
                body=body,
                status="queued" if req.from_ else "accepted",
                direction="outbound-api",
                date_created=now,
                date_updated=now,
                num_segments=segments_for(body),
                num_media=len(req.media_urls),
                messaging_service_sid=req.messaging_service_sid,
                status_callback=req.status_callback,
                outcome=rule.sms if rule else "delivered",
                outcome_code=rule.error_code if rule else None,
                test=who.test,
            )
            self.store.add(message)
            for url in req.media_urls:
                self.add_media(message, url, now)
            self._schedule(message)
            return message

    def update_message(self, account_sid: str, sid: str, body: str | None, status: str | None) -> Message | None:
        """POST Messages/{Sid}: Body="" redacts a final message; Status=canceled cancels one not yet sent."""
        with self.lock:
            message = self.get_message(account_sid, sid)
            if message is None:
                return None
            if status is not None:
                if status != "canceled":
                    raise invalid_parameter(f"Status can only be canceled, got {status!r}")
                if message.status not in ("accepted", "scheduled", "queued"):
                    raise bad_request(30409, f"Message {sid} cannot be canceled: its status is {message.status}")
                message.status, message.date_updated = "canceled", self.clock.now()
            if body is not None:
                if body != "":
                    raise invalid_parameter("Body can only be updated to the empty string (redaction)")
                if not models.is_final(message):
                    raise bad_request(20009, "Cannot redact message because delivery has not been completed.")
                message.body, message.date_updated = "", self.clock.now()
            self.store.save(message)
            return message

    def send_reply(self, account_sid: str, *, from_: str, to: str, body: str, direction: str) -> Message:
        """A message the network sends itself (opt-out replies, <Message> in a call): no API checks."""
        with self.lock:
            self.make_room(1)
            now = self.clock.now()
            rule = self.rule_for(to)
            message = Message(
                sid=new_sid("SM"), account_sid=account_sid, to=to, from_=from_, body=body, status="queued",
                direction=direction, date_created=now, date_updated=now, num_segments=segments_for(body),
                outcome=rule.sms if rule else "delivered", outcome_code=rule.error_code if rule else None,
            )
            self.store.add(message)
            self._schedule(message)
            return message

    def add_media(self, message: Message, url: str, when: datetime) -> Media:
        media = Media(new_sid("ME"), message.account_sid, message.sid, content_type_for(url), url, when, when)
        return self.store.add(media)  # type: ignore[return-value]

    def opt(self, account_sid: str, ours: str, theirs: str, keyword: str) -> None:
        """STOP/START from `theirs` to `ours`: record the opt-out (or its end) and send Twilio's reply."""
        with self.lock:
            key = (account_sid, ours, theirs)
            if keyword == "STOP":
                self.opt_outs.add(key)
            elif keyword == "START":
                self.opt_outs.discard(key)
            self.store.set_meta("opt_outs", sorted(self.opt_outs))
            self.send_reply(account_sid, from_=ours, to=theirs, body=models.OPT_REPLIES[keyword],
                            direction="outbound-reply")

    def receive_message(self, account_sid: str, *, to: str, from_: str, body: str) -> Message:
        with self.lock:
            self.make_room(1)
            now = self.clock.now()
            message = Message(
                sid=new_sid("SM"), account_sid=account_sid, to=to, from_=from_, body=body, status="received",
                direction="inbound", date_created=now, date_updated=now, date_sent=now,
                num_segments=segments_for(body), price="-0.00790",
            )
            self.store.add(message)
            return message

    def get_message(self, account_sid: str, sid: str) -> Message | None:
        with self.lock:
            record = self.store.get(sid)
            return record if isinstance(record, Message) and record.account_sid == account_sid else None

    def delete_message(self, account_sid: str, sid: str) -> bool:
        with self.lock:
            message = self.get_message(account_sid, sid)
            if message is None:
                return False
            if not models.is_final(message):
                raise bad_request(20009, "Cannot delete message because delivery has not been completed.")
            for media in list(self.store.newest_first(("media", sid))):
                self.store.delete(media.sid)
            self.store.delete(sid)
            return True

    def list_messages(self, account_sid: str, query: ListQuery) -> Page:
        return self._page(("messages", account_sid), query)

    # --- media ------------------------------------------------------------------------------

    def get_media(self, account_sid: str, message_sid: str, sid: str) -> Media | None:
        with self.lock:
            record = self.store.get(sid)
            if isinstance(record, Media) and record.account_sid == account_sid and record.parent_sid == message_sid:
                return record
            return None

    def delete_media(self, account_sid: str, message_sid: str, sid: str) -> bool:
        with self.lock:
            media = self.get_media(account_sid, message_sid, sid)
            if media is None:
                return False
            self.store.delete(sid)
            return True

    def list_media(self, account_sid: str, message_sid: str, query: ListQuery) -> Page | None:
        with self.lock:
            if self.get_message(account_sid, message_sid) is None:
                return None
            return self._page(("media", message_sid), query)

    # --- calls ------------------------------------------------------------------------------

    def create_call(self, account_sid: str, req: CallRequest, who: Credentials = LIVE) -> Call:
        check_call_request(req, self.owned_numbers, who)
        with self.lock:
            self.make_room(1)
            now = self.clock.now()
            rule = None if who.test else self.rule_for(req.to or "")
            answered_by = None
            if req.machine_detection:
                answered_by = rule.answered_by if rule else "human"
                if answered_by == "machine_start" and req.machine_detection == "DetectMessageEnd":
                    answered_by = "machine_end_beep"  # DetectMessageEnd waits for the greeting to end
            call = Call(
                sid=new_sid("CA"), account_sid=account_sid, to=req.to or "", from_=req.from_ or "", status="queued",
                direction="outbound-api", date_created=now, date_updated=now, planned_duration=self.call_duration,
                url=req.url, method=req.method, fallback_url=req.fallback_url, fallback_method=req.fallback_method,
                twiml=req.twiml, application_sid=req.application_sid, status_callback=req.status_callback,
                status_callback_method=req.status_callback_method,
                status_callback_events=list(req.status_callback_events or ("completed",)),
                outcome=rule.call if rule else "completed", timeout=req.timeout,
                machine_detection=req.machine_detection, answered_by=answered_by, test=who.test,
            )
            self.store.add(call)
            if call.status_callback and "initiated" in call.status_callback_events:
                self.schedule(now, call.sid, "initiated")
            self._schedule(call)
            return call

    def get_call(self, account_sid: str, sid: str) -> Call | None:
        with self.lock:
            record = self.store.get(sid)
            return record if isinstance(record, Call) and record.account_sid == account_sid else None

    def delete_call(self, account_sid: str, sid: str) -> bool:
        with self.lock:
            call = self.get_call(account_sid, sid)
            if call is None:
                return False
            if call.status in models.LIVE_CALL_STATUSES:
                raise bad_request(20009, "Cannot delete a call that is queued, ringing or in progress.")
            self.store.delete(sid)
            return True

    def list_calls(self, account_sid: str, query: ListQuery) -> Page:
        return self._page(("calls", account_sid), query)

    def inbound_call(self, account_sid: str, *, from_: str, to: str, url: str, method: str) -> Call:
        """A call from the network to an owned number: it rings and is answered at once."""
        with self.lock:
            self.make_room(1)
            now = self.clock.now()
            call = Call(
                sid=new_sid("CA"), account_sid=account_sid, to=to, from_=from_, status="ringing", direction="inbound",
                date_created=now, date_updated=now, planned_duration=self.call_duration, url=url, method=method,
                answer_after=0,
            )
            self.store.add(call)
            self._schedule(call)
            return call

    def end_call(self, call: Call, status: str) -> bool:
        """Hang up (`completed`) or cancel (`canceled`) a call now; False when it is no longer live.

        A call not yet answered ends `canceled` at once; an answered one is hung up (`canceled`
        leaves it alone, as Twilio does) and its completion step is due now.
        """
        with self.lock:
            now = self.clock.now()
            if call.status in ("queued", "ringing"):
                self._pending_hooks.extend(self.advance_call(call, "canceled", now))
                return True
            if call.status == "in-progress" and status == "completed":
                call.ends_at = now
                self._pending_hooks.extend(self.advance_call(call, "completed", now))
                return True
            return call.status == "in-progress"

    def check_redirect(self, call: Call, url: str | None, twiml: str | None, method: str) -> None:
        if call.status not in models.LIVE_CALL_STATUSES:
            raise bad_request(21220, "Call is not in-progress. Cannot redirect.")
        if url and not models._is_http_url(url):
            raise bad_request(21205, f"Url is not a valid URL: {url}")
        if twiml and len(twiml) > models.MAX_TWIML:
            raise invalid_parameter(f"Twiml must be at most {models.MAX_TWIML} characters, got {len(twiml)}")
        if method not in ("GET", "POST"):
            raise invalid_parameter(f"Method must be GET or POST, got {method}")

    def redirect_call(self, call: Call, url: str | None, twiml: str | None, method: str) -> None:
        """New instructions for a live call: a queued or ringing call runs them when it connects;
        an answered one right away (a waiting <Gather> is abandoned)."""
        with self.lock:
            call.url, call.method, call.twiml = url, method, twiml
            if call.status != "in-progress":
                self.store.save(call)
                return
            call.gather = call.gather_until = None
            call.transcript.append({"verb": "Redirect", "text": "", "url": url or "(Twiml)", "source": "api"})
            self.store.save(call)
        with self.steps_lock:
            self.voice.follow(call, Goto(url, method) if url else Goto(None, text=twiml))

    # --- owned numbers ----------------------------------------------------------------------

    def number_records(self, account_sid: str) -> list[PhoneNumber]:
        with self.lock:
            return [r for r in self.store.in_creation_order(("numbers", account_sid)) if isinstance(r, PhoneNumber)]

    def owned_number(self, number: str, account_sid: str | None = None) -> PhoneNumber | None:
        with self.lock:
            for record in self.store.all_records():
                if isinstance(record, PhoneNumber) and record.phone_number == number and (
                        account_sid is None or record.account_sid == account_sid):
                    return record
            return None

    def list_numbers(self, account_sid: str, query: ListQuery) -> Page:
        return self._page(("numbers", account_sid), query)

    def get_number(self, account_sid: str, sid: str) -> PhoneNumber | None:
        with self.lock:
            record = self.store.get(sid)
            return record if isinstance(record, PhoneNumber) and record.account_sid == account_sid else None

    def update_number(self, record: PhoneNumber, form: Any) -> None:
        """POST IncomingPhoneNumbers/{Sid}: where its SMS and calls go, and its name."""
        changes: dict[str, Any] = {}
        urls = (("sms_url", "SmsUrl"), ("voice_url", "VoiceUrl"), ("status_callback", "StatusCallback"))
        for field_name, key in urls:
            if key in form:
                url = form[key] or None
                if url and not models._is_http_url(url):
                    raise bad_request(21502 if key == "VoiceUrl" else 21503, f"{key} is not a valid URL: {url}")
                changes[field_name] = url
        for field_name, key in (("sms_method", "SmsMethod"), ("voice_method", "VoiceMethod")):
            if key in form:
                method = (form[key] or "POST").upper()
                if method not in ("GET", "POST"):
                    raise invalid_parameter(f"{key} must be GET or POST, got {form[key]!r}")
                changes[field_name] = method
        if "FriendlyName" in form:
            if len(form["FriendlyName"]) > 64:
                raise invalid_parameter("FriendlyName must be at most 64 characters")
            changes["friendly_name"] = form["FriendlyName"]
        with self.lock:
            for key, value in changes.items():
                setattr(record, key, value)
            record.date_updated = self.clock.now()
            self.store.save(record)

    def add_number(self, account_sid: str, number: str, **routing: Any) -> PhoneNumber:
        with self.lock:
            record = self.owned_number(number, account_sid)
            if record is None:
                now = self.clock.now()
                digest = hashlib.sha256(f"{account_sid}:{number}".encode()).hexdigest()[:32]
                record = PhoneNumber("PN" + digest, account_sid, number, now, now, friendly_name=number)
                self.store.add(record)
                if number not in self.owned_numbers:
                    self.owned_numbers.append(number)
            for key, value in routing.items():
                setattr(record, key, value)
            self.store.save(record)
            return record

    # --- tokens -----------------------------------------------------------------------------

    def create_token(self, account_sid: str, ttl: int) -> Token:
        username = hashlib.sha256(os.urandom(32)).hexdigest()
        password = base64.b64encode(os.urandom(33)).decode()
        turn = [("turn:global.turn.twilio.com:3478?transport=udp"), ("turn:global.turn.twilio.com:3478?transport=tcp"),
                ("turn:global.turn.twilio.com:443?transport=tcp")]
        stun = "stun:global.stun.twilio.com:3478"
        servers = [{"url": stun, "urls": stun}] + [
            {"url": url, "urls": url, "username": username, "credential": password} for url in turn
        ]
        return Token(account_sid, ttl, username, password, self.clock.now(), servers)

    # --- the store's bound ------------------------------------------------------------------

    def make_room(self, needed: int) -> None:
        """Evict the oldest final-state messages and calls (with their media) until `needed` more
        records fit under max_records; 429 if not enough of them are final."""
        excess = len(self.store) + needed - self.max_records
        if excess <= 0:
            return
        victims: list[Record] = []
        for record in self.store.oldest():
            if excess <= 0:
                break
            if isinstance(record, (Message, Call)) and models.is_final(record):
                media = list(self.store.newest_first(("media", record.sid))) if isinstance(record, Message) else []
                victims += media + [record]
                excess -= 1 + len(media)
        if excess > 0:
            raise TwilioError(429, 20429, f"Too Many Requests: the emulator holds emulator.max_records "
                                          f"({self.max_records}) records and too few are in a final state")
        for record in victims:
            self.store.evict(record.sid)

    # --- paging -----------------------------------------------------------------------------

    def _page(self, scope: Scope, query: ListQuery) -> Page:
        size = query.page_size
        with self.lock:
            if query.cursor is None:
                found = _take(self.store.newest_first(scope), query, size + 1, skip=query.page * size)
                return Page(found[:size], len(found) > size)
            kind, sid = query.cursor
            seq = self.store.seq_of(sid, scope)  # another scope's SID is as unknown as a made-up one
            if seq is None:
                raise TwilioError(400, 21481, "Invalid PageToken")
            if kind == "PA":
                found = _take(self.store.newest_first(scope, seq), query, size + 1)
                return Page(found[:size], len(found) > size)
            newer = _take(self.store.oldest_first(scope, seq), query, size)
            return Page(list(reversed(newer)), True)

    # --- introspection (for tests and the pytest plugin) --------------------------------------

    def records(self, kind: str, account_sid: str | None) -> list[Record]:
        with self.lock:
            found = [r for r in self.store.all_records() if scope_of(r)[0] == kind]
            return [r for r in found if account_sid is None or r.account_sid == account_sid]

    # --- lifecycle --------------------------------------------------------------------------

    def schedule(self, when: datetime, sid: str, action: str) -> None:
        heapq.heappush(self._due, (when, next(self._tiebreak), sid, action))

    def _schedule(self, record: Record) -> None:
        step = next_message_step(record) if isinstance(record, Message) else (
            next_call_step(record) if isinstance(record, Call) else None)
        if step is not None:
            self.schedule(step[1], record.sid, "step")

    def reschedule(self) -> None:
        """Rebuild the pending lifecycle steps from the stored records (after load or reset)."""
        with self.lock:
            self._due.clear()
            for record in self.store.all_records():
                self._schedule(record)

    def next_due(self) -> datetime | None:
        """When the earliest pending lifecycle step is due (None when nothing is pending)."""
        with self.lock:
            return self._due[0][0] if self._due else None

    def run_due(self) -> None:
        """Apply every lifecycle step due by now, in time order, and make the webhooks they cause."""
        with self.steps_lock:
            self.flush_hooks()
            while True:
                generation = self.generation
                hooks = self._apply_next()
                if hooks is None:
                    break
                for hook in hooks:
                    if self.generation != generation:  # reset meanwhile: the rest of this step is void
                        break
                    self.notify(hook)
                self.flush_hooks()

    def flush_hooks(self) -> None:
        """Send webhooks queued by changes made outside a lifecycle step (an API cancel, a hang-up)."""
        with self.lock:
            hooks, self._pending_hooks = self._pending_hooks, []
        for hook in hooks:
            self.notify(hook)

    def _apply_next(self) -> list[Webhook] | None:
        """Apply the earliest due step; None when nothing is due."""
        with self.lock:
            if not self._due or self._due[0][0] > self.clock.now():
                return None
            when, _, sid, action = heapq.heappop(self._due)
            record = self.store.get(sid)
            if isinstance(record, Message):
                return self._advance_message(record, when)
            if not isinstance(record, Call):
                return []
            if action == "initiated":
                return self._call_event(record, "initiated", when, status="initiated")
            step = next_call_step(record)
            if step is None or step[1] != when:
                return []
            if step[0] not in ("in-progress", "gather-timeout"):
                return self.advance_call(record, step[0], when)
        # TwiML fetches are network I/O: made outside the state lock so API requests keep flowing.
        if step[0] == "gather-timeout":
            return self.voice.gather_timeout(record)
        return self.voice.answer(record, when)

    def _advance_message(self, message: Message, when: datetime) -> list[Webhook]:
        step = next_message_step(message)
        if step is None or step[1] != when:
            return []
        message.status, message.date_updated = step[0], when
        if message.status == "sent":
            message.date_sent = when
            message.price = models.message_price(message)
        if message.status in ("failed", "undelivered"):
            message.error_code = message.outcome_code or models.DEFAULT_SMS_ERROR[message.status]
            message.error_message = models.SMS_ERRORS.get(message.error_code, "Message delivery failed")
        self.store.save(message)
        self._schedule(message)
        if not message.status_callback:
            return []
        params = {
            "MessageSid": message.sid, "MessageStatus": message.status, "SmsSid": message.sid,
            "SmsStatus": message.status, "AccountSid": message.account_sid, "From": message.from_ or "",
            "To": message.to, "ApiVersion": API_VERSION,
        }
        if message.status in ("failed", "undelivered"):
            params["ErrorCode"] = str(message.error_code)
        return [Webhook("message-status", message.status_callback, "POST", params, message.account_sid)]

    def call_params(self, call: Call, status: str) -> dict[str, str]:
        return {
            "CallSid": call.sid, "AccountSid": call.account_sid, "From": call.from_, "To": call.to,
            "Caller": call.from_, "Called": call.to, "CallStatus": status, "Direction": call.direction,
            "ApiVersion": API_VERSION,
        }

    def advance_call(self, call: Call, status: str, when: datetime) -> list[Webhook]:
        call.status, call.date_updated = status, when
        if status == "in-progress":
            call.start_time = when
        elif status not in models.LIVE_CALL_STATUSES:
            call.end_time = when
            started = call.start_time or when  # never answered: 0 seconds
            call.duration = int((when - started).total_seconds())
            call.price = models.call_price(call.duration) if status == "completed" else None
            call.gather = call.gather_until = None
        self.store.save(call)
        self._schedule(call)
        event = _EVENT_FOR_STATUS.get(status, "completed")
        return self._call_event(call, event, when, status=status)

    def _call_event(self, call: Call, event: str, when: datetime, *, status: str) -> list[Webhook]:
        if not call.status_callback or event not in call.status_callback_events:
            return []
        params = self.call_params(call, status)
        if call.answered_by and event in ("answered", "completed"):
            params["AnsweredBy"] = call.answered_by
        params.update({
            "CallbackSource": "call-progress-events", "SequenceNumber": str(call.callback_sequence),
            "Timestamp": models.rfc2822(when),
        })
        if event == "completed":
            params["CallDuration"] = str(call.duration or 0)
            params["Duration"] = str(-(-(call.duration or 0) // 60))
        call.callback_sequence += 1
        self.store.save(call)
        return [Webhook("call-status", call.status_callback, call.status_callback_method, params, call.account_sid)]

    # --- seeding and reset ------------------------------------------------------------------

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [models.to_state(r) for r in self.store.all_records()]

    def restore(self, states: Iterable[dict[str, Any]]) -> None:
        with self.lock:
            self.store.restore(models.from_state(s) for s in states)
            self.generation += 1
            self._pending_hooks.clear()
            if self.opt_outs:
                self.opt_outs.clear()
                self.store.set_meta("opt_outs", [])
            self.reschedule()

    def reloaded(self) -> None:
        """The store was read again (a snapshot load): opt-outs and the pending steps follow it."""
        with self.lock:
            self.generation += 1
            self._pending_hooks.clear()
            self.opt_outs = {tuple(x) for x in self.store.get_meta("opt_outs") or []}
            self.reschedule()

    def add_seeded(self, record: Record, media_urls: Sequence[str] = ()) -> None:
        with self.lock:
            self.store.add(record)
            if isinstance(record, Message):
                for url in media_urls:
                    self.add_media(record, url, record.date_created)
            self._schedule(record)


