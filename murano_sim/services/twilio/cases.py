"""Case files' phone network: faults (`fail_next`), how the network treats numbers (`twilio.outcomes`),
texts that arrive first (`twilio.receive`), the person on the line after the request (`twilio.caller`),
and what was sent (`expect: {sms, phone_calls}`). testing/ finds these keys through the plugin's
`case_keys` and the control's case hooks (check_case_settings, check_case_expect, case_uses, case_run).

Everything goes through the `twilio` fixture's TwilioControl (control.py), so a case sets up,
plays the caller and asserts exactly as a pytest test with the fixture would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...errors import UsageError
from ..control import Mismatch, contains

if TYPE_CHECKING:
    from .fixture import TwilioControl

FAULT_KEYS = ("status", "code", "count")
PHONE_KEYS = ("outcomes", "receive", "caller")
EXPECT_PHONE_KEYS = ("sms", "phone_calls")
RECEIVE_KEYS = ("from", "to", "body")
CALLER_ACTIONS = ("press", "speak", "hangup")
SMS_KEYS = ("to", "contains", "status")
CALL_KEYS = ("to", "status", "said", "transcript")


class CasePhoneError(UsageError):
    """A malformed `twilio` section or phone expectation (the message names the file, line and case)."""


# -- checking (at collection) -------------------------------------------------------------------
def check_case_settings(where: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The case's `fail_next` and `twilio` sections (after file defaults), checked; kept in the case's
    `service_settings` for case_uses and CaseRun."""
    return {"fail_next": check_faults(where, settings.get("fail_next")),
            "twilio": check_phone(where, settings.get("twilio"))}


def check_faults(where: str, value: Any) -> list[dict[str, Any]]:
    """`fail_next`: one fault or a list of them, each {status, code?, count?}."""
    if value is None:
        return []
    faults = []
    for item in value if isinstance(value, list) else [value]:
        item = _mapping(item, f"{where}: fail_next")
        if set(item) - set(FAULT_KEYS) or not isinstance(item.get("status"), int):
            raise CasePhoneError(f"{where}: fail_next needs {{status: 4xx/5xx, code: optional, count: optional}}")
        faults.append(dict(item))
    return faults


def check_phone(where: str, value: Any) -> dict[str, Any]:
    """The case's `twilio` section, checked; empty when there is none."""
    if value is None:
        return {}
    phone = _mapping(value, f"{where}: twilio")
    _known(phone, PHONE_KEYS, f"{where}: twilio")
    outcomes = _mapping(phone.get("outcomes") or {}, f"{where}: twilio.outcomes")
    for number, rule in outcomes.items():
        _mapping(rule, f"{where}: twilio.outcomes.{number}")
    receive = _list(phone.get("receive"), f"{where}: twilio.receive", "texts ({from, to, body})")
    for i, text in enumerate(receive):
        text = _mapping(text, f"{where}: twilio.receive[{i}]")
        _known(text, RECEIVE_KEYS, f"{where}: twilio.receive[{i}]")
        if not all(isinstance(text.get(k), str) for k in RECEIVE_KEYS):
            raise CasePhoneError(f"{where}: twilio.receive[{i}] needs `from`, `to` and `body` (strings)")
    steps = "steps ({call, press | speak | hangup} or {advance})"
    caller = _list(phone.get("caller"), f"{where}: twilio.caller", steps)
    for i, step in enumerate(caller):
        _caller_step(_mapping(step, f"{where}: twilio.caller[{i}]"), f"{where}: twilio.caller[{i}]")
    return {"outcomes": {str(k): dict(v) for k, v in outcomes.items()}, "receive": [dict(t) for t in receive],
            "caller": [dict(s) for s in caller]}


def _caller_step(step: Mapping[str, Any], where: str) -> None:
    if set(step) == {"advance"}:
        seconds = step["advance"]
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise CasePhoneError(f"{where}: advance must be a number of seconds (0 or more)")
        return
    _known(step, ("call", *CALLER_ACTIONS), where)
    actions = [a for a in CALLER_ACTIONS if a in step]
    if len(actions) != 1:
        raise CasePhoneError(f"{where}: give one of press, speak or hangup (with `call`), or `advance` alone")
    if not isinstance(step.get("call", "last"), str):
        raise CasePhoneError(f"{where}: call must be last, first, a call SID or a phone number")
    if actions[0] == "hangup" and step["hangup"] is not True:
        raise CasePhoneError(f"{where}: hangup must be true")
    if actions[0] != "hangup" and not isinstance(step[actions[0]], (str, int)):
        raise CasePhoneError(f"{where}: {actions[0]} must be text (digits for press)")


def check_expected_phone(where: str, expect: Mapping[str, Any]) -> None:
    for key, known in (("sms", SMS_KEYS), ("phone_calls", CALL_KEYS)):
        if key not in expect:
            continue
        for i, entry in enumerate(_list(expect[key], f"{where}: expect.{key}", "entries")):
            entry = _mapping(entry, f"{where}: expect.{key}[{i}]")
            _known(entry, known, f"{where}: expect.{key}[{i}]")
            if "transcript" in entry and not isinstance(entry["transcript"], list):
                raise CasePhoneError(f"{where}: expect.{key}[{i}].transcript must be a list of entries ({{verb, ...}})")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CasePhoneError(f"{where} must be a mapping")
    return value


def _list(value: Any, where: str, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CasePhoneError(f"{where} must be a list of {what}")
    return value


def _known(raw: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = set(raw) - set(known)
    if unknown:
        raise CasePhoneError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(known)})")


# -- running ---------------------------------------------------------------------------------------
def prepare(control: TwilioControl, phone: Mapping[str, Any]) -> None:
    """Before the request: every number's outcome, then every text received (STOP opts out)."""
    for number, rule in (phone.get("outcomes") or {}).items():
        control.outcome(number, **rule)
    for text in phone.get("receive") or ():
        control.receive_message(to=text["to"], from_=text["from"], body=text["body"])


def play_caller(control: TwilioControl, steps: list[dict[str, Any]]) -> None:
    """After the request (and `advance`): each step in order, as the person on the line."""
    for step in steps:
        if "advance" in step:
            control.advance(float(step["advance"]))
            continue
        call = control.call(_find_call(control, str(step.get("call", "last"))))
        if "press" in step:
            call.press(str(step["press"]))
        elif "speak" in step:
            call.speak(str(step["speak"]))
        else:
            call.hangup()


def _find_call(control: TwilioControl, which: str) -> str:
    calls = control.calls
    if which in ("last", "first"):
        if not calls:
            raise CasePhoneError(f"twilio.caller: call {which}: no call was made")
        return calls[-1 if which == "last" else 0]["sid"]
    if which.startswith("CA"):
        return which
    matching = [c for c in calls if which in (c["to"], c["from"])]
    if not matching:
        raise CasePhoneError(f"twilio.caller: no call to or from {which}")
    return matching[-1]["sid"]


def check_phone_expectations(control: TwilioControl, expect: Mapping[str, Any], set_up: bool) -> list[Mismatch]:
    """`expect.sms` and `expect.phone_calls`: each entry claims the first matching send, in order, and
    no other send of that kind may remain. `set_up`: the case set faults or outcomes, and an unused
    one is a mismatch (as the fixture's teardown says)."""
    found: list[Mismatch] = []
    if "sms" in expect:
        for entry in expect["sms"]:
            try:
                control.expect_sms(to=entry.get("to"), contains=entry.get("contains"), status=entry.get("status"))
            except AssertionError as exc:
                found.append(Mismatch("sms", None, None, str(exc)))
        found.extend(_unclaimed(control, "sms"))
    if "phone_calls" in expect:
        for entry in expect["phone_calls"]:
            try:
                call = control.expect_call(to=entry.get("to"), status=entry.get("status"))
            except AssertionError as exc:
                found.append(Mismatch("phone_calls", None, None, str(exc)))
                continue
            found.extend(_check_transcript(call.sid, call.transcript, entry))
        found.extend(_unclaimed(control, "calls"))
    if set_up:
        found.extend(Mismatch("twilio", None, None, problem) for problem in control.emulator.unused())
    return found


def _unclaimed(control: TwilioControl, kind: str) -> list[Mismatch]:
    left = control.unclaimed(kind)
    if not left:
        return []
    what = "sms" if kind == "sms" else "phone_calls"
    return [Mismatch(what, None, None, "sent but not expected:\n" + "\n".join(f"  {line}" for line in left))]


def _check_transcript(sid: str, transcript: list[dict[str, Any]], entry: Mapping[str, Any]) -> list[Mismatch]:
    found: list[Mismatch] = []
    said = entry.get("said")
    texts = [e.get("text", "") for e in transcript if e.get("verb") == "Say"]
    for wanted in [said] if isinstance(said, str) else (said or []):
        if not any(str(wanted) in text for text in texts):
            found.append(Mismatch(f"phone_calls ({sid}) said", wanted, texts, "no <Say> contains the text"))
    if "transcript" in entry and not _subsequence(entry["transcript"], transcript):
        found.append(Mismatch(f"phone_calls ({sid}) transcript", entry["transcript"], transcript,
                              "these entries do not appear in this order"))
    return found


def _subsequence(wanted: list[Any], transcript: list[dict[str, Any]]) -> bool:
    """Every wanted entry matches (as a subset) a transcript entry, in order."""
    entries = iter(transcript)
    return all(any(contains(actual, w) for actual in entries) for w in wanted)


# -- the case hooks of the Twilio control (control.py) -------------------------------------------
def case_uses(case: Any) -> list[str]:
    """The case's keys that need the emulator (fail_next, twilio, expect.sms/phone_calls); empty: none."""
    own = case.service_settings
    used = [key for key in ("fail_next", "twilio") if own.get(key)]
    return used + [f"expect.{key}" for key in EXPECT_PHONE_KEYS if key in case.expect]


class CaseRun:
    """One case's phone network, through a fresh `twilio` fixture (its claims are the case's own)."""

    def __init__(self, control: TwilioControl, case: Any) -> None:
        self.control, self.case = control, case
        self.faults: list[dict[str, Any]] = case.service_settings.get("fail_next") or []
        self.phone: dict[str, Any] = case.service_settings.get("twilio") or {}

    def setup(self) -> None:
        """Before the request: faults, outcomes and texts received."""
        for fault in self.faults:
            self.control.fail_next(fault["status"], fault.get("code"), fault.get("count", 1))
        prepare(self.control, self.phone)

    def after(self) -> None:
        """After the request (and `advance`): the person on the line."""
        play_caller(self.control, self.phone.get("caller") or [])

    def mismatches(self) -> list[Mismatch]:
        return check_phone_expectations(self.control, self.case.expect, bool(self.faults or self.phone))
