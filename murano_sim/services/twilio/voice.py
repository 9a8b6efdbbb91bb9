"""The TwiML interpreter: what a call does once it connects, verb by verb, with a transcript.

It runs in the lifecycle thread (the backend's steps lock held) or in the test's thread when the
test plays the caller (press, speak, hang up). Fetches of TwiML are made outside the state lock;
the call record is changed under it. A call waiting in <Gather> keeps its document and position
on the record, so a restart with --state resumes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urljoin

from ...errors import UsageError
from ...state.clock import Clock
from .models import API_VERSION, Call, Message, NumberRule, Webhook, new_sid
from .twiml import Goto, TwimlError, Verb, parse

MAX_DOCUMENTS = 50  # documents fetched in one go (a <Redirect> loop ends the call)
DEFAULT_GATHER_TIMEOUT = 5


_WAIT, _END, _NEXT = "wait", "end", "next"


class CallSteps(Protocol):
    """What the interpreter may do to a call: the backend owns the call's state machine."""

    lock: Any  # the state lock: every change to a record is made under it
    clock: Clock
    store: Any  # the record store (save after changing a record in place)
    call_duration: int

    def schedule(self, when: datetime, sid: str, action: str) -> None: ...
    def make_room(self, needed: int) -> None: ...
    def advance_call(self, call: Call, status: str, when: datetime) -> list[Webhook]: ...
    def call_params(self, call: Call, status: str) -> dict[str, str]: ...
    def rule_for(self, number: str) -> NumberRule | None: ...
    def fetch(self, hook: Webhook) -> Any: ...
    def send_reply(self, account_sid: str, *, from_: str, to: str, body: str, direction: str) -> Message: ...


class Voice:
    def __init__(self, backend: CallSteps) -> None:
        self.backend = backend
        # The time of the lifecycle step being run (the clock may already be past it on a jump).
        self._at: datetime | None = None

    def _now(self) -> datetime:
        return self._at or self.backend.clock.now()

    # --- entry points -----------------------------------------------------------------------

    def answer(self, call: Call, when: datetime) -> list[Webhook]:
        """The call connects: fetch its first document (Url, then FallbackUrl) and run it."""
        self._at = when
        try:
            return self._answer(call, when)
        finally:
            self._at = None

    def _answer(self, call: Call, when: datetime) -> list[Webhook]:
        first: Goto | None = None
        if call.twiml:
            first = Goto(None, text=call.twiml)
        elif call.url:
            first = Goto(call.url, call.method)
        if first is None:  # ApplicationSid: no document the emulator can fetch; the call just runs
            with self.backend.lock:
                return self.backend.advance_call(call, "in-progress", when)
        fetched = self._fetch_document(call, first, initial=True)
        if fetched is None:  # neither Url nor FallbackUrl answered: the call fails
            with self.backend.lock:
                return self.backend.advance_call(call, "failed", when)
        verbs, url = fetched
        if verbs and verbs[0].name == "Reject":  # refused before it was answered
            self._log(call, {"verb": "Reject", "reason": verbs[0].attrs.get("reason", "rejected")})
            with self.backend.lock:
                return self.backend.advance_call(call, "busy", when)
        with self.backend.lock:
            hooks = self.backend.advance_call(call, "in-progress", when)
        self._run(call, verbs, url, 0)
        return hooks

    def gather_timeout(self, call: Call) -> list[Webhook]:
        self._at = call.gather_until
        try:
            return self._gather_timeout(call)
        finally:
            self._at = None

    def _gather_timeout(self, call: Call) -> list[Webhook]:
        with self.backend.lock:
            gather = call.gather or {}
            call.gather = call.gather_until = None
            self.backend.store.save(call)
        self._log(call, {"verb": "Gather", "timeout": True})
        if gather.get("actionOnEmptyResult") == "true" and gather.get("action"):
            self._resume(call, self._action(call, gather, {"Digits": ""}))
        else:
            self._resume(call, None)
        return []

    def input(self, call: Call, *, digits: str | None = None, speech: str | None = None) -> None:
        """The caller presses keys or speaks while a <Gather> waits."""
        with self.backend.lock:
            gather = call.gather
            if gather is None or call.status != "in-progress":
                raise UsageError(f"call {call.sid} is not waiting for input (status {call.status}); "
                                 "advance the clock until its <Gather> runs")
            kinds = gather.get("input", "dtmf").split()
            if digits is not None and "dtmf" not in kinds:
                raise UsageError(f"call {call.sid}: the <Gather> takes {gather.get('input')}, not key presses")
            if speech is not None and "speech" not in kinds:
                raise UsageError(f"call {call.sid}: the <Gather> takes key presses, not speech")
            call.gather = call.gather_until = None
            self.backend.store.save(call)
        if digits is not None:
            finish = gather.get("finishOnKey", "#")
            if finish and finish in digits:
                digits = digits[: digits.index(finish)]
            if gather.get("numDigits", "").isdigit():
                digits = digits[: int(gather["numDigits"])]
            params = {"Digits": digits}
            self._log(call, {"verb": "Gather", "digits": digits, **_pick(gather, "action")})
        else:
            params = {"SpeechResult": speech or "", "Confidence": "0.9"}
            self._log(call, {"verb": "Gather", "speech": speech or "", **_pick(gather, "action")})
        self._resume(call, self._action(call, gather, params))

    # --- running documents ------------------------------------------------------------------

    def _resume(self, call: Call, goto: Goto | None) -> None:
        if goto is not None:
            self.follow(call, goto)
            return
        verbs = self._parse_stored(call)
        self._run(call, verbs, call.doc_url, call.pc)

    def _parse_stored(self, call: Call) -> list[Verb]:
        try:
            return parse(call.doc or "<Response/>")
        except TwimlError:  # it parsed when it was stored
            return []

    def follow(self, call: Call, goto: Goto) -> None:
        fetched = self._fetch_document(call, goto, initial=False)
        if fetched is None:
            self._end(call)
            return
        self._run(call, fetched[0], fetched[1], 0)

    def _run(self, call: Call, verbs: list[Verb], url: str | None, pc: int) -> None:
        for _ in range(MAX_DOCUMENTS):
            with self.backend.lock:
                if call.status != "in-progress":
                    return
                call.doc_url, call.pc = url, pc
                self.backend.store.save(call)
            result: Any = _NEXT
            while pc < len(verbs) and result == _NEXT:
                verb = verbs[pc]
                pc += 1
                with self.backend.lock:
                    call.pc = pc
                result = self._execute(call, verb, url)
            if result == _WAIT:
                return
            if result == _END or result == _NEXT:  # hung up, or the document ran out
                self._end(call, now=result == _END)
                return
            fetched = self._fetch_document(call, result, initial=False)
            if fetched is None:
                self._end(call, now=True)
                return
            verbs, url = fetched
            pc = 0
        self._log(call, {"verb": "Error", "code": 11200, "text": f"more than {MAX_DOCUMENTS} documents in a row"})
        self._end(call, now=True)

    def _end(self, call: Call, now: bool = True) -> None:
        """The call hangs up: at once (<Hangup>, an error), or when the caller is done listening."""
        with self.backend.lock:
            if call.status != "in-progress":
                return
            clock = self._now()
            planned = (call.start_time or clock) + timedelta(seconds=call.planned_duration)
            call.ends_at = clock if now else max(clock, planned)
            call.gather = call.gather_until = None
            self.backend.store.save(call)
            self.backend.schedule(call.ends_at, call.sid, "step")

    def _execute(self, call: Call, verb: Verb, url: str | None) -> Any:
        name, attrs = verb.name, verb.attrs
        if name == "Say":
            self._log(call, {"verb": "Say", "text": verb.text, **_pick(attrs, "voice", "language", "loop")})
        elif name == "Play":
            self._log(call, {"verb": "Play", "text": verb.text, **_pick(attrs, "loop", "digits")})
        elif name == "Pause":
            self._log(call, {"verb": "Pause", "text": "", "length": int(attrs.get("length", "1") or 1)})
        elif name == "Gather":
            return self._gather(call, verb, url)
        elif name == "Redirect":
            target = urljoin(url or "", verb.text)
            self._log(call, {"verb": "Redirect", "text": verb.text, "url": target})
            return Goto(target, attrs.get("method", "POST").upper())
        elif name == "Hangup":
            self._log(call, {"verb": "Hangup", "text": ""})
            return _END
        elif name == "Reject":
            self._log(call, {"verb": "Reject", "text": "", "reason": attrs.get("reason", "rejected")})
            return _END
        elif name == "Dial":
            return self._dial(call, verb, url)
        elif name == "Record":
            return self._record(call, verb, url)
        elif name in ("Message", "Sms"):
            self._message(call, verb)
        else:
            self._log(call, {"verb": name, "text": verb.text, "note": "not emulated; skipped"})
        return _NEXT

    def _gather(self, call: Call, verb: Verb, url: str | None) -> Any:
        for child in verb.children:
            if child.name in ("Say", "Play", "Pause"):
                self._execute(call, child, url)
        gather = {k: v for k, v in verb.attrs.items()}
        if "action" in gather:
            gather["action"] = urljoin(url or "", gather["action"])
        elif url:
            gather["action"] = url  # Twilio posts to the document's own URL
        timeout = int(gather.get("timeout", DEFAULT_GATHER_TIMEOUT) or DEFAULT_GATHER_TIMEOUT)
        with self.backend.lock:
            call.gather = gather
            call.gather_until = self._now() + timedelta(seconds=timeout)
            self.backend.store.save(call)
            self.backend.schedule(call.gather_until, call.sid, "step")
        return _WAIT

    def _dial(self, call: Call, verb: Verb, url: str | None) -> Any:
        nouns = [c for c in verb.children if c.name in ("Number", "Client", "Sip")]
        target = nouns[0].text if nouns else verb.text
        backend = self.backend
        with backend.lock:
            rule = backend.rule_for(target)
            status = rule.call if rule else "completed"
            now = self._now()
            duration = backend.call_duration if status == "completed" else 0
            child = Call(
                sid=new_sid("CA"), account_sid=call.account_sid, to=target,
                from_=verb.attrs.get("callerId", call.to if call.direction == "inbound" else call.from_),
                status=status, direction="outbound-dial", date_created=now, date_updated=now,
                start_time=now if status == "completed" else None, end_time=now, duration=duration,
                parent_call_sid=call.sid, planned_duration=duration,
            )
            backend.make_room(1)
            backend.store.add(child)
        self._log(call, {"verb": "Dial", "text": target, "status": status, **_pick(verb.attrs, "action")})
        params = {"DialCallStatus": status, "DialCallSid": child.sid, "DialCallDuration": str(duration)}
        if verb.attrs.get("action"):
            return Goto(urljoin(url or "", verb.attrs["action"]), verb.attrs.get("method", "POST").upper(), params)
        return _NEXT

    def _record(self, call: Call, verb: Verb, url: str | None) -> Any:
        sid = "RE" + hashlib.sha256(f"{call.sid}:{len(call.transcript)}".encode()).hexdigest()[:32]
        recording = f"https://api.twilio.com/{API_VERSION}/Accounts/{call.account_sid}/Recordings/{sid}"
        self._log(call, {"verb": "Record", "text": "", "recording_sid": sid, **_pick(verb.attrs, "action",
                                                                                       "maxLength")})
        if verb.attrs.get("action"):
            params = {"RecordingSid": sid, "RecordingUrl": recording, "RecordingDuration": "0", "Digits": "hangup"}
            return Goto(urljoin(url or "", verb.attrs["action"]), verb.attrs.get("method", "POST").upper(), params)
        return _NEXT

    def _message(self, call: Call, verb: Verb) -> None:
        caller, ours = (call.from_, call.to) if call.direction == "inbound" else (call.to, call.from_)
        to, from_ = verb.attrs.get("to", caller), verb.attrs.get("from", ours)
        message = self.backend.send_reply(call.account_sid, from_=from_, to=to, body=verb.text,
                                          direction="outbound-call")
        self._log(call, {"verb": verb.name, "text": verb.text, "to": to, "sid": message.sid})

    # --- fetching ---------------------------------------------------------------------------

    def _action(self, call: Call, gather: Mapping[str, str], params: Mapping[str, str]) -> Goto | None:
        action = gather.get("action")
        return Goto(action, gather.get("method", "POST").upper(), params) if action else None

    def _fetch_document(self, call: Call, goto: Goto, *, initial: bool) -> tuple[list[Verb], str | None] | None:
        """The verbs of the next document; on a fetch or parse failure the FallbackUrl is tried
        with ErrorCode and ErrorUrl; None when nothing usable came back (the error is logged)."""
        if goto.text is not None:
            try:
                verbs = parse(goto.text)
                self._store_doc(call, goto.text)
                return verbs, None
            except TwimlError as exc:
                self._log(call, {"verb": "Error", "code": exc.code, "text": exc.message})
                return self._fallback(call, exc.code, None)
        params = self._params(call, initial)
        params.update(goto.params)
        delivery = self.backend.fetch(Webhook("twiml", goto.url or "", goto.method, params, call.account_sid))
        code, text = 11200, "HTTP retrieval failure"
        if delivery is not None and delivery.ok:
            try:
                verbs = parse(delivery.body) if delivery.body.strip() else []
                self._store_doc(call, delivery.body)
                return verbs, goto.url
            except TwimlError as exc:
                code, text = exc.code, exc.message
        elif delivery is not None and delivery.error:
            text = f"HTTP retrieval failure: {delivery.error}"
        self._log(call, {"verb": "Error", "code": code, "text": text, "url": goto.url})
        return self._fallback(call, code, goto.url)

    def _fallback(self, call: Call, code: int, error_url: str | None) -> tuple[list[Verb], str | None] | None:
        if not call.fallback_url:
            return None
        params = self._params(call, False)
        params.update({"ErrorCode": str(code), "ErrorUrl": error_url or ""})
        hook = Webhook("twiml", call.fallback_url, call.fallback_method, params, call.account_sid)
        delivery = self.backend.fetch(hook)
        if delivery is None or not delivery.ok:
            self._log(call, {"verb": "Error", "code": 11200, "text": "HTTP retrieval failure",
                             "url": call.fallback_url})
            return None
        try:
            verbs = parse(delivery.body) if delivery.body.strip() else []
        except TwimlError as exc:
            self._log(call, {"verb": "Error", "code": exc.code, "text": exc.message, "url": call.fallback_url})
            return None
        self._store_doc(call, delivery.body)
        return verbs, call.fallback_url

    def _store_doc(self, call: Call, text: str) -> None:
        with self.backend.lock:
            call.doc = text
            self.backend.store.save(call)

    def _params(self, call: Call, initial: bool) -> dict[str, str]:
        status = "ringing" if initial and call.direction == "inbound" else "in-progress"
        params = self.backend.call_params(call, status)
        if call.answered_by:
            params["AnsweredBy"] = call.answered_by
        return params

    def _log(self, call: Call, entry: dict[str, Any]) -> None:
        entry.setdefault("text", "")
        with self.backend.lock:
            call.transcript.append(entry)
            self.backend.store.save(call)


def _pick(attrs: Mapping[str, str], *names: str) -> dict[str, str]:
    return {name: attrs[name] for name in names if attrs.get(name)}
