"""The solution's one clock: real time plus an offset when serving, manual in tests.

Every service reads it (timers, Tsdb "now", call and message lifecycles, token TTLs, os.time/os.date/os.now,
request.timestamp). `advance_through` moves it forward and runs whatever became due on the way,
in time order across every service, before it returns.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Protocol

MAX_STEPS = 1_000_000


class Clock(Protocol):
    def now(self) -> datetime: ...


class DueSource(Protocol):
    """Anything with work scheduled on the clock (the emulator's lifecycles, timers)."""

    def next_due(self) -> datetime | None: ...

    def run_due(self) -> None: ...


class SystemClock:
    """Wall-clock UTC time; it cannot be advanced."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to; tests use it to step lifecycles deterministically."""

    manual = True

    def __init__(self, start: datetime | None = None) -> None:
        if start is None:
            start = datetime.now(timezone.utc).replace(microsecond=0)
        elif start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, now: datetime | None = None) -> datetime:
        """Start again at `now` (default: the real time, whole seconds), backwards too.

        Only for a fresh start (a reused test runtime, right after every service is reset): a
        running solution's time never goes backwards."""
        fresh = ManualClock(now)
        with self._lock:
            self._now = fresh._now
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self.now().isoformat()})"


class OffsetClock:
    """Real time plus an offset that only grows: `serve`'s clock. Time still passes on its own, so
    a background ticker runs what becomes due; advance() jumps ahead."""

    manual = False

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(timezone.utc) + self._offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, now: datetime) -> datetime:
        """Jump to `now`, backwards too; time then passes on from there. Only for a loaded snapshot,
        whose services' data were saved at that time."""
        with self._lock:
            self._offset = now.astimezone(timezone.utc) - datetime.now(timezone.utc)
        return self.now()

    def __repr__(self) -> str:
        return f"OffsetClock(offset={self._offset.total_seconds():g}s)"


def is_manual(clock: Clock) -> bool:
    """True when time moves only on advance() (no background ticker is needed)."""
    return bool(getattr(clock, "manual", hasattr(clock, "advance")))


def epoch_seconds(clock: Clock) -> float:
    return clock.now().timestamp()


def advance_through(clock: Clock, seconds: float, sources: Iterable[DueSource]) -> datetime:
    """Move `clock` forward by `seconds`, stopping at each due step on the way (earliest first,
    across every source) and running it, so effects happen in time order."""
    advance = getattr(clock, "advance", None)
    if advance is None:
        raise ValueError(f"{clock!r} cannot be advanced")
    if seconds < 0:
        raise ValueError("a clock cannot go backwards")
    sources = list(sources)
    target = clock.now() + timedelta(seconds=seconds)
    for _ in range(MAX_STEPS):
        pending = [(when, i) for i, s in enumerate(sources) if (when := s.next_due()) is not None and when <= target]
        if not pending:
            break
        when, index = min(pending)
        gap = (when - clock.now()).total_seconds()
        if gap > 0:
            advance(gap)
        sources[index].run_due()
    else:  # a source that reports work it never runs is our defect: say so rather than spin
        raise RuntimeError(f"advance: more than {MAX_STEPS} due steps before {target.isoformat()}")
    gap = (target - clock.now()).total_seconds()
    if gap > 0:
        advance(gap)
    for source in sources:  # anything due exactly at the target
        source.run_due()
    return clock.now()
