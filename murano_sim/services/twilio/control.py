"""Twilio's one control: what the emulator holds (inspect), back to its seed (reset), and the test's
side of the phone network as actions (inbound SMS and calls, a caller's keys and words, faults,
outcomes, the clock). The views are thin: the `/_emulator/` control plane (control_plane.py), the
`twilio` pytest fixture (fixture.py), the yaml cases' phone keys (cases.py) and the Lua test
controls (`murano_test.twilio`) parse their own input and call these actions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..control import ControlError
from .cases import CaseRun, case_uses, check_case_settings, check_expected_phone
from .fixture import TwilioControl

_VIEWS = ("messages", "calls", "media", "deliveries", "requests")


class TwilioServiceControl:
    """The Control (services/control.py) over one Emulator; `advance` moves the solution's whole
    clock when given (timers run too), else the emulator's alone."""

    alias = "twilio"
    backend_label = "the Twilio emulator"  # how a defect of its threads is reported (testing's EmulatorDefect)

    def __init__(self, emulator: Any, advance: Callable[[float], None] | None = None) -> None:
        self.emulator = emulator
        self.advance = advance or emulator.advance
        self._actions: dict[str, Callable[..., Any]] = {
            "advance": self._advance,
            "fail_next": self._fail_next,
            "outcome": self._outcome,
            "receive_message": self._receive_message,
            "inbound_call": self._inbound_call,
            "press": self._press,
            "speak": self._speak,
            "hangup": self._hangup,
            "transcript": self._transcript,
            "reset": self._reset,
            **{view: self._viewer(view) for view in _VIEWS},
        }

    # -- the Control protocol --------------------------------------------------------------------
    def seed(self, data: Any) -> None:
        raise NotImplementedError("twilio is seeded by config.yaml's emulator.seed")

    def inspect(self, view: str | None = None, **query: Any) -> Any:
        """messages, calls, media, deliveries or requests (newest `limit`); none: messages and calls."""
        if view is None:
            return {"messages": self.emulator.messages(), "calls": self.emulator.calls()}
        if view not in _VIEWS:
            raise ValueError(f"no view {view!r} (known: {', '.join(_VIEWS)})")
        if view == "deliveries":
            return list(self.emulator.deliveries)
        if view == "requests":
            return list(self.emulator.requests)[: int(query.get("limit", 100))]
        return getattr(self.emulator, view)()

    def reset(self) -> None:
        self.emulator.reset()

    @property
    def actions(self) -> Mapping[str, Callable[..., Any]]:
        return self._actions

    def fixture(self) -> TwilioControl:
        return TwilioControl(self.emulator, self.advance)

    # yaml cases (cases.py): its sections checked at collection, which of a case's keys need this
    # control, and one case's run.
    check_case_settings = staticmethod(check_case_settings)
    check_case_expect = staticmethod(check_expected_phone)
    case_uses = staticmethod(case_uses)

    def case_run(self, case: Any) -> CaseRun:
        return CaseRun(self.fixture(), case)

    def take_defects(self) -> list[Exception]:
        """Defects of ours behind the emulator (a webhook delivery that crashed), for the test to fail with."""
        return self.emulator.take_defects()

    def unused(self) -> list[str]:
        """Faults and outcomes set but never used (a test's mistake, reported at teardown)."""
        return self.emulator.unused()

    def on_serve(self, url: str) -> None:
        """Served at `url`: a number's relative sms_url/voice_url ("/path") are that solution's endpoints."""
        self.emulator.base_url = url

    # -- actions ---------------------------------------------------------------------------------
    def _viewer(self, view: str) -> Callable[..., Any]:
        return lambda **query: self.inspect(view, **query)

    def _advance(self, seconds: float) -> dict[str, Any]:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ControlError(f"seconds must be a number of seconds >= 0, got {seconds!r}")
        self.advance(float(seconds))
        return {"now": self.emulator.clock.now().isoformat()}

    def _fail_next(self, status: int, code: int | None = None, count: int = 1) -> None:
        for name, value, optional in (("status", status, False), ("code", code, True), ("count", count, False)):
            if (value is None and not optional) or (value is not None and not _is_int(value)):
                raise ControlError(f"{name} must be a whole number, got {value!r}")
        self.emulator.fail_next(int(status), None if code is None else int(code), int(count))

    def _outcome(self, number: str, **rule: Any) -> None:
        self.emulator.outcome(number, **rule)

    def _receive_message(self, To: str | None = None, From: str | None = None, Body: str | None = None,  # noqa: N803
                         MediaUrl: list[str] | None = None, Url: str | None = None,  # noqa: N803
                         Method: str = "POST") -> dict[str, Any]:  # noqa: N803 - Twilio's webhook names
        """An inbound SMS, named as in Twilio's inbound webhook."""
        missing = [key for key, value in (("To", To), ("From", From), ("Body", Body)) if not isinstance(value, str)]
        if missing:
            raise ControlError(f"needs {', '.join(missing)} (text), as in Twilio's inbound webhook")
        if Url is not None and not isinstance(Url, str):
            raise ControlError("Url must be text")
        if Method not in ("GET", "POST"):
            raise ControlError(f"Method must be GET or POST, got {Method!r}")
        return self.emulator.receive_message(to=To, from_=From, body=Body, media_urls=list(MediaUrl or []), url=Url,
                                             method=Method)

    def _inbound_call(self, From: str, To: str) -> dict[str, Any]:  # noqa: N803 - Twilio's webhook names
        return self.emulator.inbound_call(from_=From, to=To)

    def _press(self, sid: str, digits: str) -> list[dict[str, Any]]:
        self.emulator.press(sid, digits)
        return self.emulator.transcript(sid)

    def _speak(self, sid: str, text: str) -> list[dict[str, Any]]:
        self.emulator.speak(sid, text)
        return self.emulator.transcript(sid)

    def _hangup(self, sid: str) -> None:
        self.emulator.hangup(sid)

    def _transcript(self, sid: str) -> list[dict[str, Any]]:
        return self.emulator.transcript(sid)

    def _reset(self) -> None:
        self.reset()


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))
