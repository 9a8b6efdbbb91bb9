"""TwilioControl: what the `twilio` fixture gives a test — the emulator's state and its controls,
the test's side of the phone network (outcomes, callers), and phone-style assertions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CallControl:
    """One call, as the person on the line: its transcript, and keys pressed, words said, a hang-up."""

    def __init__(self, emulator: Any, sid: str) -> None:
        self.emulator = emulator
        self.sid = sid

    @property
    def transcript(self) -> list[dict[str, Any]]:
        return self.emulator.transcript(self.sid)

    @property
    def status(self) -> str:
        return next(c["status"] for c in self.emulator.calls() if c["sid"] == self.sid)

    def press(self, digits: str) -> CallControl:
        self.emulator.press(self.sid, digits)
        return self

    def speak(self, text: str) -> CallControl:
        self.emulator.speak(self.sid, text)
        return self

    def hangup(self) -> CallControl:
        self.emulator.hangup(self.sid)
        return self

    def said(self) -> list[str]:
        """The text of every <Say> so far, in order."""
        return [entry["text"] for entry in self.transcript if entry["verb"] == "Say"]

    def __repr__(self) -> str:
        return f"CallControl({self.sid})"


def _sent(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("direction", "").startswith("outbound")]


def _describe(records: list[dict[str, Any]], kind: str) -> str:
    if not records:
        return f"no {kind} was sent"
    lines = ["sent instead:"]
    for r in records[-10:]:
        text = f" {r['body']!r}" if "body" in r else ""
        lines.append(f"  to {r['to']} from {r['from']} at {r['date_created']} ({r['status']}){text}")
    return "\n".join(lines)


class TwilioControl:
    """The local emulator behind a test's `murano` runtime, for assertions and fault injection."""

    def __init__(self, emulator: Any, advance: Callable[[float], None] | None = None) -> None:
        self.emulator = emulator
        self._advance = advance  # the runtime's: timers and Twilio lifecycles interleave in time order
        self._strict = False
        self._claimed: set[str] = set()

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message (seeded, sent, received) as Twilio's JSON, in creation order."""
        return self.emulator.messages()

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Every call as Twilio's JSON, in creation order."""
        return self.emulator.calls()

    @property
    def media(self) -> list[dict[str, Any]]:
        return self.emulator.media()

    @property
    def deliveries(self) -> list[Any]:
        """Webhook attempts the emulator made (status callbacks, TwiML fetches, inbound SMS)."""
        return list(self.emulator.deliveries)

    @property
    def clock(self) -> Any:
        """The emulator's ManualClock (`.now()`); move it with advance()."""
        return self.emulator.clock

    def advance(self, seconds: float) -> None:
        """Move the shared clock; status changes now due happen and their callbacks are POSTed."""
        if self._advance is not None:
            self._advance(seconds)
        else:
            self.emulator.advance(seconds)

    # --- the phone network ------------------------------------------------------------------

    def outcome(self, number: str, **rule: Any) -> None:
        """How the network treats `number` from now on: sms="undelivered", error_code=30003,
        call="busy" | "no-answer" | "failed" | "canceled", answered_by="machine_start", sms_url=,
        voice_url=. A rule no request uses fails the test at teardown."""
        self.emulator.outcome(number, **rule)

    def call(self, sid: str) -> CallControl:
        """A call by SID: .transcript, .press("1"), .speak("yes"), .hangup()."""
        self.emulator.transcript(sid)  # fails at once for an unknown SID
        return CallControl(self.emulator, sid)

    def inbound_call(self, *, from_: str, to: str) -> CallControl:
        """A call to an owned number: its voice_url is fetched and run."""
        return CallControl(self.emulator, self.emulator.inbound_call(from_=from_, to=to)["sid"])

    # --- assertions -------------------------------------------------------------------------

    def strict(self) -> None:
        """From now on, a message or call that no expect_sms/expect_call claimed fails the test at teardown."""
        self._strict = True

    def expect_sms(self, *, to: str | None = None, contains: str | None = None,
                   status: str | None = None) -> dict[str, Any]:
        """The first unclaimed outbound SMS to `to` whose body contains `contains` (and in
        `status`); an AssertionError saying what was sent instead when there is none."""
        sent = _sent(self.emulator.messages())
        for message in sent:
            if message["sid"] in self._claimed:
                continue
            if (to is None or message["to"] == to) and (contains is None or contains in message["body"]) and (
                    status is None or message["status"] == status):
                self._claimed.add(message["sid"])
                return message
        wanted = ", ".join(f"{k}={v!r}" for k, v in (("to", to), ("contains", contains), ("status", status)) if v)
        raise AssertionError(f"expected an SMS with {wanted or 'anything'}; {_describe(sent, 'SMS')}")

    def expect_call(self, *, to: str | None = None, status: str | None = None) -> CallControl:
        """The first unclaimed outbound call to `to` (and in `status`), as a CallControl."""
        made = [c for c in self.emulator.calls() if c["direction"] == "outbound-api"]
        for call in made:
            if call["sid"] not in self._claimed and (to is None or call["to"] == to) and (
                    status is None or call["status"] == status):
                self._claimed.add(call["sid"])
                return CallControl(self.emulator, call["sid"])
        wanted = ", ".join(f"{k}={v!r}" for k, v in (("to", to), ("status", status)) if v)
        raise AssertionError(f"expected a call with {wanted or 'anything'}; {_describe(made, 'call')}")

    def problems(self) -> list[str]:
        """What fails the test at teardown: unused faults and outcomes, unclaimed sends in strict mode."""
        out = list(self.emulator.unused())
        if self._strict:
            unclaimed = self.unclaimed("sms") + self.unclaimed("calls")
            if unclaimed:
                out.append("strict: sent but never expected:\n" + "\n".join(f"  {line}" for line in unclaimed))
        return out

    def unclaimed(self, kind: str) -> list[str]:
        """One line per outbound SMS (kind "sms") or call ("calls") that no expect_* claimed."""
        sends = _sent(self.emulator.messages()) if kind == "sms" else [
            c for c in self.emulator.calls() if c["direction"] == "outbound-api"]
        return [f"{r['sid'][:2]} to {r['to']}" + (f" {r['body']!r}" if "body" in r else "")
                for r in sends if r["sid"] not in self._claimed]

    def fail_next(self, status: int, code: int | None = None, count: int = 1) -> None:
        """The next `count` Twilio API requests get a Twilio error body with that status and code."""
        self.emulator.fail_next(status, code, count)

    def receive_message(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        url: str | None = None,
        method: str = "POST",
        account_sid: str | None = None,
    ) -> dict[str, Any]:
        """An inbound SMS (stored as received; POSTed as Twilio's signed webhook when url is given)."""
        return self.emulator.receive_message(
            to=to, from_=from_, body=body, url=url, method=method, account_sid=account_sid
        )

    def reset(self) -> None:
        """Back to the seeded state, with no pending faults."""
        self.emulator.reset()

    def __repr__(self) -> str:
        return f"TwilioControl({self.emulator!r})"
