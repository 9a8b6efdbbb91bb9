"""The time-series store Tsdb and Timeseries share: points in the solution's SQLite state.

One row per (time, metric) value, tags as canonical JSON. Down-sampling and aggregation run in
SQL (GROUP BY buckets); callers only shape the rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ..state import State
from .bounds import DEFAULT_QUOTA_BYTES, ByteQuota, check_count, check_size, row_bytes, table_bytes

TABLE = "tsdb_points"
# Murano documents no sizes for Tsdb points: murano-sim's choices (docs/services/tsdb.md).
MAX_NAME_BYTES = 255  # a metric or tag name
MAX_TAG_VALUE_BYTES = 1024
MAX_STRING_BYTES = 64 * 1024  # a string value: as Device2's string resource
MAX_TAGS = 64  # tags on one point
MAX_POINTS = 10_000  # points one call writes (Tsdb's query limit caps reads the same)
# SQL for each aggregate Murano documents; strings count but have no numeric value (value IS NULL).
AGGREGATES = {"avg": "AVG(value)", "min": "MIN(value)", "max": "MAX(value)", "count": "COUNT(*)", "sum": "SUM(value)"}

# Microseconds per unit of Murano's time strings (m = minutes).
US = {"u": 1, "us": 1, "ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000,
      "w": 604_800_000_000}
_TS = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(u|us|ms|s)?\s*$")

Point = tuple[int, str, Any, Mapping[str, str]]  # (µs, metric, value, tags)


class PointStore:
    def __init__(self, state: State, *, quota_bytes: int = DEFAULT_QUOTA_BYTES,
                 setting: str = "services.tsdb.quota_bytes", label: str = "Tsdb",
                 also: Sequence[str] = ()) -> None:
        """quota_bytes: what the points table (Tsdb's and Timeseries's points together) and the tables
        `also` names may hold."""
        self.state = state
        tables = [TABLE, *also]
        self.quota = ByteQuota(label, quota_bytes, setting, lambda: table_bytes(state, tables))
        state.db.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (metric TEXT NOT NULL, ts INTEGER NOT NULL, value REAL, "
            "text TEXT, tags TEXT NOT NULL)"
        )
        # Covering index: a metric's window and its values are read without touching the table.
        state.db.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_metric_ts ON {TABLE} (metric, ts, value)")
        # Retention runs after every write and deletes by time across metrics: without this index each
        # write scanned the whole table (142 us per Tsdb.write at 6,000 points, growing with them).
        state.db.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_ts ON {TABLE} (ts)")
        # (db.total_changes when read, the smallest time stored or None): retention skips its DELETEs while
        # nothing is old enough. Any other write on the connection makes it stale; a snapshot load too.
        self._oldest: tuple[int, int | None] | None = None
        state.on_load(self._forget_oldest)

    def insert(
        self, points: Sequence[Point], label: str, retention: Mapping[str | None, int | None] | None = None,
    ) -> None:
        """Store points; each checked against the size bounds and all of them against the quota first.
        retention: drop_before's cutoffs, applied in the same transaction (Tsdb's retention rules)."""
        check_count(label, "points", len(points), MAX_POINTS)
        rows, size = [], 0
        for ts, metric, value, tags in points:
            number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            text = None if number is not None else _text(value)
            check_size(label, "metric name", metric, MAX_NAME_BYTES)
            if text is not None:
                check_size(label, f"value of {metric}", text, MAX_STRING_BYTES)
            check_tags(label, tags)
            row = (metric, ts, number, text, canonical_tags(tags))
            size += row_bytes(*row)
            rows.append(row)
        self.quota.charge(size)
        with self.state.lock:
            if len(rows) == 1 and not self._expiring(retention, rows[0][1]):
                # One INSERT is atomic by itself: no BEGIN and COMMIT around it (under serve each statement
                # is a GIL hand-over; a Tsdb.write was four statements, now one).
                self._add(rows)
                return
            with self.state.transaction():
                self._add(rows)
                if retention:
                    self.drop_before(retention)

    def _add(self, rows: list[tuple[Any, ...]]) -> None:
        db = self.state.db
        known, before = self._oldest, db.total_changes
        db.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?)", rows)
        if known is not None and known[0] == before:  # nothing else wrote since it was read: still true
            lowest = min(row[1] for row in rows)
            self._oldest = (db.total_changes, lowest if known[1] is None else min(known[1], lowest))

    def _oldest_ts(self) -> int | None:
        """The smallest time stored (None: no points), read again once anything else wrote."""
        db = self.state.db
        with self.state.lock:
            changes, known = db.total_changes, self._oldest
            if known is None or known[0] != changes:
                known = self._oldest = (changes, db.execute(f"SELECT MIN(ts) FROM {TABLE}").fetchone()[0])
            return known[1]

    def _forget_oldest(self) -> None:
        self._oldest = None

    def _expiring(self, cutoffs: Mapping[str | None, int | None] | None, also: int | None = None) -> bool:
        """Whether a cutoff may drop a stored point (or one at time `also`, about to be stored)."""
        if not cutoffs:
            return False
        lowest = min((t for t in (self._oldest_ts(), also) if t is not None), default=None)
        return lowest is not None and any(cutoff is not None and lowest < cutoff for cutoff in cutoffs.values())

    def series(
        self, metric: str, start: int, end: int, tags: Mapping[str, Any] | None, *, desc: bool, limit: int | None,
    ) -> list[tuple[int, Any, str]]:
        """A metric's points in [start, end]: (µs, value, tags JSON)."""
        where, params = _where(metric, start, end, tags)
        order = "DESC" if desc else "ASC"
        sql = f"SELECT ts, COALESCE(value, text), tags FROM {TABLE} WHERE {where} ORDER BY ts {order}, rowid {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self.state.db.execute(sql, params).fetchall()

    def buckets(
        self, metric: str, start: int, end: int, tags: Mapping[str, Any] | None, size: int | None,
        functions: Sequence[str],
    ) -> list[tuple[Any, ...]]:
        """(bucket start µs, aggregate...) per non-empty bucket, aligned to the epoch; one row when size is None."""
        where, params = _where(metric, start, end, tags)
        selected = ", ".join(AGGREGATES[f] for f in functions)
        if size is None:
            return self.state.db.execute(f"SELECT 0, {selected} FROM {TABLE} WHERE {where}", params).fetchall()
        bucket = f"(ts / {int(size)}) * {int(size)}"
        sql = f"SELECT {bucket} AS bucket, {selected} FROM {TABLE} WHERE {where} GROUP BY bucket"
        return self.state.db.execute(sql, params).fetchall()

    def latest(self, metric: str, tags: Mapping[str, Any] | None, before: int) -> tuple[int, Any] | None:
        where, params = _where(metric, None, before, tags)
        return self.state.db.execute(
            f"SELECT ts, COALESCE(value, text) FROM {TABLE} WHERE {where} ORDER BY ts DESC, rowid DESC LIMIT 1", params
        ).fetchone()

    def metrics(self) -> list[str]:
        return [r[0] for r in self.state.db.execute(f"SELECT DISTINCT metric FROM {TABLE} ORDER BY metric")]

    def tag_sets(self, metrics: Sequence[str]) -> list[dict[str, str]]:
        """The distinct tag sets of these metrics' points."""
        if not metrics:
            return []
        rows = self.state.db.execute(
            f"SELECT DISTINCT tags FROM {TABLE} WHERE metric IN ({', '.join('?' * len(metrics))}) ORDER BY tags",
            list(metrics))
        return [json.loads(r[0]) for r in rows]

    def tags(self) -> dict[str, list[str]]:
        rows = self.state.db.execute(
            f"SELECT DISTINCT j.key, j.value FROM (SELECT DISTINCT tags FROM {TABLE}) t, json_each(t.tags) j "
            "ORDER BY j.key, j.value"
        )
        out: dict[str, list[str]] = {}
        for key, value in rows:
            out.setdefault(key, []).append(str(value))
        return out

    def points(self) -> list[dict[str, Any]]:
        """Every point, oldest first: {metric, ts (µs), value, tags}."""
        rows = self.state.db.execute(f"SELECT metric, ts, COALESCE(value, text), tags FROM {TABLE} ORDER BY ts, rowid")
        return [{"metric": m, "ts": ts, "value": v, "tags": json.loads(t)} for m, ts, v, t in rows]

    def drop_before(self, cutoffs: Mapping[str | None, int | None]) -> None:
        """Retention: drop points older than their metric's cutoff (key None: every other metric)."""
        if not self._expiring(cutoffs):  # the index on ts answers MIN(ts) at once; most writes end here
            return
        named = [m for m in cutoffs if m is not None]
        with self.state.transaction() as db:
            for metric, cutoff in cutoffs.items():
                if cutoff is None:
                    continue
                if metric is None:
                    marks = ", ".join("?" * len(named))
                    db.execute(f"DELETE FROM {TABLE} WHERE ts < ? AND metric NOT IN ({marks})", (cutoff, *named))
                else:
                    db.execute(f"DELETE FROM {TABLE} WHERE ts < ? AND metric = ?", (cutoff, metric))

    def clear(self) -> None:
        with self.state.transaction() as db:
            db.execute(f"DELETE FROM {TABLE}")
        self.quota.forget()
        self._forget_oldest()


def check_tags(label: str, tags: Mapping[str, Any] | None) -> None:
    """A point's tags against the size bounds (413 error table)."""
    tags = tags or {}
    check_count(label, "tags", len(tags), MAX_TAGS)
    for name, value in tags.items():
        check_size(label, "tag name", name, MAX_NAME_BYTES)
        check_size(label, f"tag {name}", _text(value), MAX_TAG_VALUE_BYTES)


def canonical_tags(tags: Mapping[str, Any] | None) -> str:
    if not tags:
        return "{}"  # most points carry none: what json.dumps would give, without it
    return json.dumps({str(k): _text(v) for k, v in sorted(tags.items())}, separators=(",", ":"))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _where(metric: str, start: int | None, end: int | None, tags: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    clauses: list[str] = ["metric = ?"]
    params: list[Any] = [metric]  # the metric, then times (int) and tag values
    if start is not None:
        clauses.append("ts >= ?")
        params.append(start)
    if end is not None:
        clauses.append("ts <= ?")
        params.append(end)
    for name, wanted in (tags or {}).items():
        values = (wanted if isinstance(wanted, list) else [wanted]) or [None]  # {} matches nothing
        clauses.append(f"json_extract(tags, ?) IN ({', '.join('?' * len(values))})")
        params.append(f'$."{_json_key(str(name))}"')
        params.extend(_text(v) for v in values)
    return " AND ".join(clauses), params


def _json_key(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


class BadTime(ValueError):
    """A timestamp that is none of the forms Tsdb and Timeseries take (the services answer 400)."""


def parse_time(value: Any, label: str) -> int:
    """Microseconds since the epoch from µs, "<n>u|ms|s", or an ISO 8601 string."""
    if isinstance(value, bool):
        raise BadTime(f"{label}: must be a timestamp, got a boolean")
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value)
    match = _TS.match(text)
    if match:
        return int(float(match.group(1)) * US[match.group(2) or "u"])
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadTime(f"{label}: must be microseconds, a number with a u, ms or s suffix, "
                      f"or an ISO 8601 time, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1_000_000)


def fmt_time(us: int, epoch: str | None) -> Any:
    if epoch == "u":
        return us
    if epoch == "ms":
        return us // 1_000
    if epoch == "s":
        return us // 1_000_000
    moment = datetime.fromtimestamp(us / 1_000_000, tz=timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if us % 1_000_000:
        text += f".{us % 1_000_000:06d}".rstrip("0")
    return text + "Z"
