"""Murano's Timer service: one-shot, interval and calendar timers that fire the solution's `timer`
event on its clock, plus the `schedule` configuration parameter that fires it with no code.

Pending timers are rows of the solution's state (they survive a restart with a state file).
The model is a DueSource: `advance` stops at each due time and fires it there, in time order.
Choices made where Murano's documentation is silent are listed in docs/services/timer.md and
next to what they decide in timer/spec.yaml.
"""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from .. import ServiceError, ServiceHost
from ..identity import solution_identity

OK = "Ok"
MAX_TIMERS = 1000  # pending timers per solution (the configured schedule is not one)
MAX_DURATION_MS = 365 * 24 * 3600 * 1000
MIN_INTERVAL_MS = 1000  # sendInterval: an interval shorter than a second is refused
PERIODS = ("hourly", "daily", "weekly", "monthly", "yearly")  # shortest first
SCHEDULE_TIMER_ID = "schedule"  # the timer_id of events fired by the `schedule` configuration parameter
ID_NAMESPACE = uuid.UUID("0b6a1f3e-8c2d-4e7a-9f51-3d2c7b9e4a60")  # generated ids: uuid5(solution, n)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS timer (timer_id TEXT PRIMARY KEY, kind TEXT NOT NULL, message TEXT NOT NULL,"
    " duration_ms INTEGER, schedule TEXT, due_us INTEGER NOT NULL, seq INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS timer_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)


def to_us(when: datetime) -> int:
    return (when - EPOCH) // MICROSECOND


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def next_boundary(period: str, after: datetime) -> datetime:
    """The first start of an hour/day/week (Monday)/month/year, in UTC, strictly after `after`."""
    at = after.astimezone(timezone.utc)
    if period == "hourly":
        return at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    day = datetime(at.year, at.month, at.day, tzinfo=timezone.utc)
    if period == "daily":
        return day + timedelta(days=1)
    if period == "weekly":
        return day - timedelta(days=day.weekday()) + timedelta(days=7)
    if period == "monthly":
        return datetime(at.year + at.month // 12, at.month % 12 + 1, 1, tzinfo=timezone.utc)
    return datetime(at.year + 1, 1, 1, tzinfo=timezone.utc)


def next_occurrence(periods: Iterable[str], after: datetime) -> tuple[datetime, str] | None:
    """The next boundary of any of `periods` after `after`, with the longest period starting then."""
    times = {period: next_boundary(period, after) for period in periods}
    if not times:
        return None
    when = min(times.values())
    return when, [p for p in PERIODS if times.get(p) == when][-1]


def latest_occurrence(periods: builtins.list[str], after: datetime, now: datetime) -> tuple[datetime, str] | None:
    """The last boundary in (after, now]: missed occurrences fire once, at the latest of them."""
    found = None
    step = next_occurrence(periods, after)
    while step is not None and step[0] <= now:
        found = step
        step = next_occurrence(periods, step[0])
    return found


def schedule_periods(schedule: Any) -> builtins.list[str]:
    """The periods switched on in a schedule table ({hourly = true, ...}); anything else is off."""
    if not isinstance(schedule, Mapping):
        return []
    return [period for period in PERIODS if schedule.get(period) is True]


class Timer:
    """The Timer service of one solution."""

    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        with host.state.transaction() as db:
            for statement in _SCHEMA:
                db.execute(statement)
            # the configured schedule counts from its first start (kept across restarts)
            db.execute("INSERT OR IGNORE INTO timer_meta VALUES ('anchor', ?)", (self._now_us(),))
            db.execute("INSERT OR IGNORE INTO timer_meta VALUES ('seq', 0)")

    def reset(self) -> None:
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM timer")
            db.execute("UPDATE timer_meta SET value = 0 WHERE key = 'seq'")
            db.execute("UPDATE timer_meta SET value = ? WHERE key = 'anchor'", (self._now_us(),))

    # -- operations ------------------------------------------------------------------------------
    def sendAfter(self, args: dict[str, Any]) -> dict[str, Any]:
        duration = _duration(args["duration"], 0)
        return self._arm(args, "after", duration, None, self._now_us() + duration * 1000)

    def sendInterval(self, args: dict[str, Any]) -> dict[str, Any]:
        duration = _duration(args["duration"], MIN_INTERVAL_MS)
        return self._arm(args, "interval", duration, None, self._now_us() + duration * 1000)

    def schedule(self, args: dict[str, Any]) -> dict[str, Any]:
        periods = schedule_periods(args["schedule"])
        if not periods:
            raise ServiceError(400, f"schedule: set at least one of {', '.join(PERIODS)} to true")
        when, _ = next_occurrence(periods, self.host.clock.now()) or (None, None)
        assert when is not None
        return self._arm(args, "schedule", None, periods, to_us(when))

    def cancel(self, args: dict[str, Any]) -> dict[str, Any]:
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM timer WHERE timer_id = ?", (args["timer_id"],))
        return {"result": OK, "timer_id": args["timer_id"]}  # an unknown id is not an error

    def cancelAll(self, args: dict[str, Any]) -> dict[str, Any]:
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM timer")
        return {"result": OK}

    def cancel_all(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.cancelAll(args)

    def list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"list": [row["timer_id"] for row in self.pending()], "result": OK}

    # -- what tests and fixtures read ----------------------------------------------------------------
    def pending(self) -> builtins.list[dict[str, Any]]:
        """Every pending timer in firing order: timer_id, kind, message, due, duration_ms, schedule."""
        rows = self.host.state.db.execute(
            "SELECT timer_id, kind, message, duration_ms, schedule, due_us FROM timer ORDER BY due_us, seq"
        ).fetchall()
        return [
            {
                "timer_id": timer_id, "kind": kind, "message": json.loads(message), "due": from_us(due_us),
                "duration_ms": duration_ms, "schedule": json.loads(schedule) if schedule else None,
            }
            for timer_id, kind, message, duration_ms, schedule, due_us in rows
        ]

    # -- the clock (DueSource) ---------------------------------------------------------------------
    def next_due(self) -> datetime | None:
        (first,) = self.host.state.db.execute("SELECT MIN(due_us) FROM timer").fetchone()
        candidates = [from_us(first)] if first is not None else []
        configured = next_occurrence(self._configured_periods(), from_us(self._meta("anchor")))
        if configured is not None:
            candidates.append(configured[0])
        return min(candidates) if candidates else None

    def run_due(self) -> None:
        """Fire everything due by now, earliest first. A timer armed while this runs waits for the next call."""
        now = self.host.clock.now()
        now_us = to_us(now)
        due = self.host.state.db.execute(
            "SELECT timer_id, due_us FROM timer WHERE due_us <= ? ORDER BY due_us, seq", (now_us,)
        ).fetchall()
        fires: builtins.list[tuple[int, int, str | None]] = [
            (due_us, i, timer_id) for i, (timer_id, due_us) in enumerate(due)
        ]
        periods = self._configured_periods()
        configured = latest_occurrence(periods, from_us(self._meta("anchor")), now)
        if configured is not None:
            fires.append((to_us(configured[0]), -1, None))
        elif not periods:  # switched off: a schedule switched on later counts from now, not from the start
            with self.host.state.transaction() as db:
                db.execute("UPDATE timer_meta SET value = ? WHERE key = 'anchor'", (now_us,))
        for due_us, _, timer_id in sorted(fires):
            if timer_id is None:
                assert configured is not None
                self._fire_configured(*configured)
            else:
                self._fire(timer_id, due_us, now)

    def _fire(self, timer_id: str, due_us: int, now: datetime) -> None:
        with self.host.state.transaction() as db:
            row = db.execute(
                "SELECT kind, message, duration_ms, schedule FROM timer WHERE timer_id = ? AND due_us = ?",
                (timer_id, due_us),
            ).fetchone()
            if row is None:  # cancelled or re-armed by a handler that ran before it
                return
            kind, message, duration_ms, schedule = row
            if kind == "after":
                db.execute("DELETE FROM timer WHERE timer_id = ?", (timer_id,))
            else:
                db.execute("UPDATE timer SET due_us = ? WHERE timer_id = ?",
                           (self._following(kind, due_us, duration_ms, schedule, now), timer_id))
        self._emit(json.loads(message), timer_id)

    def _fire_configured(self, when: datetime, period: str) -> None:
        with self.host.state.transaction() as db:
            db.execute("UPDATE timer_meta SET value = ? WHERE key = 'anchor'", (to_us(when),))
        self._emit(period, SCHEDULE_TIMER_ID)

    @staticmethod
    def _following(kind: str, due_us: int, duration_ms: int, schedule: str, now: datetime) -> int:
        """The next due time after a fire; occurrences already missed (a restart, a stalled clock) are skipped."""
        now_us = to_us(now)
        if kind == "interval":
            step = duration_ms * 1000
            return due_us + step * max(1, (now_us - due_us) // step + 1)
        periods = schedule_periods(json.loads(schedule))
        step_at = next_occurrence(periods, max(from_us(due_us), now))
        assert step_at is not None
        return to_us(step_at[0])

    def _emit(self, message: Any, timer_id: str) -> None:
        solution_id = solution_identity(self.host.platform)["id"]
        self.host.emit("timer", {"message": message, "timer_id": timer_id, "solution_id": solution_id})

    # -- helpers -----------------------------------------------------------------------------------
    def _arm(
        self, args: dict[str, Any], kind: str, duration_ms: int | None, periods: builtins.list[str] | None, due_us: int
    ) -> dict[str, Any]:
        message = json.dumps(args["message"])
        with self.host.state.transaction() as db:
            seq = self._meta("seq") + 1
            db.execute("UPDATE timer_meta SET value = ? WHERE key = 'seq'", (seq,))
            timer_id = args.get("timer_id") or self._generated_id(seq)
            replacing = db.execute("SELECT 1 FROM timer WHERE timer_id = ?", (timer_id,)).fetchone()
            (count,) = db.execute("SELECT COUNT(*) FROM timer").fetchone()
            if not replacing and count >= MAX_TIMERS:
                raise ServiceError(429, f"too many pending timers (at most {MAX_TIMERS}); cancel some first")
            # the same timer_id again re-arms that timer (the usual way to debounce)
            db.execute(
                "INSERT OR REPLACE INTO timer VALUES (?, ?, ?, ?, ?, ?, ?)",
                (timer_id, kind, message, duration_ms, json.dumps({p: True for p in periods}) if periods else None,
                 due_us, seq),
            )
        return {"result": OK, "timer_id": timer_id}

    def _generated_id(self, seq: int) -> str:
        return str(uuid.uuid5(ID_NAMESPACE, f"{solution_identity(self.host.platform)['id']}/{seq}"))

    def _configured_periods(self) -> builtins.list[str]:
        return schedule_periods(self.host.parameters.get("schedule"))

    def _meta(self, key: str) -> int:
        (value,) = self.host.state.db.execute("SELECT value FROM timer_meta WHERE key = ?", (key,)).fetchone()
        return int(value)

    def _now_us(self) -> int:
        return to_us(self.host.clock.now())


def _duration(value: int, minimum: int) -> int:
    if not minimum <= value <= MAX_DURATION_MS:
        raise ServiceError(400, f"duration: must be {minimum} to {MAX_DURATION_MS} milliseconds, got {value}")
    return value
