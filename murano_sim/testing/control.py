"""TwilioControl: what the `twilio` fixture gives a test — the emulator's state and its controls."""

from __future__ import annotations

from typing import Any


class TwilioControl:
    """The local emulator behind a test's `murano` runtime, for assertions and fault injection."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator

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
        """Move the lifecycle clock; status changes now due happen and their callbacks are POSTed."""
        self.emulator.advance(seconds)

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
