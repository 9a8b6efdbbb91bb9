"""Timer's control: the pending timers, for the console and the `timers` fixture."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..control import ServiceControl


class Timers:
    """The solution's pending timers, in the order they fire next (a live view: read it again after advance).

    Each timer is a dict: timer_id, kind (after, interval, schedule), message, due (a UTC datetime on
    the solution's clock), duration_ms (after/interval), schedule (the periods switched on)."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def pending(self) -> list[dict[str, Any]]:
        return self._model.pending()

    def ids(self) -> list[str]:
        return [timer["timer_id"] for timer in self.pending()]

    def __getitem__(self, timer_id: str) -> dict[str, Any]:
        for timer in self.pending():
            if timer["timer_id"] == timer_id:
                return timer
        raise KeyError(timer_id)

    def __contains__(self, timer_id: object) -> bool:
        return timer_id in self.ids()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.pending())

    def __len__(self) -> int:
        return len(self.pending())

    def __repr__(self) -> str:
        return f"Timers({self.ids()!r})"


class TimerControl(ServiceControl):
    def fixture(self) -> Timers:
        return Timers(self.model)

    def inspect(self, view: str | None = None, **query: Any) -> dict[str, Any]:
        """{"timers": [...]}, each due time as ISO 8601."""
        with self.host.state.lock:
            pending = self.model.pending()
        return {"timers": [{**t, "due": t["due"].isoformat(timespec="milliseconds")} for t in pending]}


factory = TimerControl
