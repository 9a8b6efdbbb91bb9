"""The solution log kept for `murano-sim logs`: the served solution's records, filtered.

Every record the solution log writes (already redacted) is kept in memory and, when the solution's
State is a `--state` file, in its table `murano_sim_log`, so a stopped run's history can be read
back. At most LOG_CAP records are kept; the oldest are dropped first.
"""

from __future__ import annotations

import collections
import fnmatch
import itertools
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..state import State, snapshots

LOG_CAP = 10_000  # records kept per state (docs/logs.md)
FLUSH_DELAY = 0.2  # seconds the state file's writer gathers records before it commits them
TABLE = "murano_sim_log"
_CREATE = f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL)"
snapshots.keep_out(TABLE)  # a snapshot load brings the data back, not the history of what ran

# rsyslog severities, as Murano's log entries and MuranoCLI's `murano logs` name them (0 most severe).
SEVERITIES = ("emergency", "alert", "critical", "error", "warning", "notice", "info", "debug")
_ALIASES = {"emerg": 0, "crit": 2, "err": 3, "warn": 4, "informational": 6}
_ENDPOINT_SERVICES = ("webservice", "websocket")  # runs of an endpoint, not of an event handler
_OUTPUT_LEVELS = {"error": 3, "warn": 4, "info": 6, "debug": 7}  # log.warn(...) prints "[warn]\t..."


def severity_rank(name: str) -> int:
    """A severity name (or alias, or 0-7) as its rsyslog number; UsageError for anything else."""
    text = name.strip().lower()
    if text.isdigit() and int(text) < len(SEVERITIES):
        return int(text)
    if text in SEVERITIES:
        return SEVERITIES.index(text)
    if text in _ALIASES:
        return _ALIASES[text]
    raise UsageError(f"severity: expected one of {', '.join(SEVERITIES)} (or 0-7), got {name!r}")


def severity_of(record: Mapping[str, Any]) -> str:
    """A record's severity: error for a failed run, a 5xx or a failed call; else its worst output line."""
    if record.get("error"):
        return "error"
    if record.get("type") == "script":
        status = record.get("status")
        rank = 3 if isinstance(status, int) and status >= 500 else 6
        for line in record.get("script_output") or []:
            level = str(line)[1:].split("]", 1)[0] if str(line).startswith("[") else ""
            rank = min(rank, _OUTPUT_LEVELS.get(level, 6))
        return SEVERITIES[rank]
    return "info"


def annotate(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each record with its severity; a service call also with the service and event of the run that made it."""
    out: list[dict[str, Any]] = []
    runs: dict[str, dict[str, Any]] = {}
    for record in records:
        record = {**record, "severity": severity_of(record)}
        if record.get("type") == "script":
            runs[str(record.get("request_id"))] = record
        elif record.get("type") == "service_call":
            run = runs.get(str(record.get("request_id"))) or {}
            record.setdefault("service", run.get("service"))
            record.setdefault("event", run.get("event"))
        out.append(record)
    return out


@dataclass(frozen=True)
class LogFilter:
    """`logs` filters; a record shows when it passes every one given."""

    endpoint: str | None = None  # "/path" (a route, glob allowed) or "METHOD /path"
    handler: str | None = None  # "SERVICE EVENT", or a service or event name alone
    severity: str | None = None  # this severity or a more severe one
    service: str | None = None  # the service that ran the script, or the service a call reached
    grep: str | None = None  # text anywhere in the record, case-insensitive

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> LogFilter:
        found = cls(**{name: query.get(name) or None for name in cls.__dataclass_fields__})
        if found.severity is not None:
            severity_rank(found.severity)  # a bad name is a clear error before anything runs
        return found

    def query(self) -> dict[str, str]:
        return {name: value for name in self.__dataclass_fields__ if (value := getattr(self, name)) is not None}

    def matches(self, record: Mapping[str, Any]) -> bool:
        service, event = str(record.get("service") or ""), str(record.get("event") or "")
        if self.endpoint is not None:
            # An endpoint run's event is "GET /route"; a WEBSOCKET endpoint's "WEBSOCKET /route open".
            method, _, rest = event.partition(" ")
            route = rest.split(" ", 1)[0]
            pattern = self.endpoint.strip()
            subject = f"{method} {route}" if " " in pattern else route
            if service not in _ENDPOINT_SERVICES or not fnmatch.fnmatchcase(subject, pattern):
                return False
        if self.handler is not None:
            words = self.handler.split()
            if service in (*_ENDPOINT_SERVICES, "") or record.get("type") not in ("script", "service_call"):
                return False
            if len(words) == 2 and (service, event) != (words[0], words[1]):
                return False
            if len(words) != 2 and self.handler.strip() not in (service, event):
                return False
        if self.severity is not None:
            if SEVERITIES.index(str(record.get("severity", "info"))) > severity_rank(self.severity):
                return False
        if self.service is not None and self.service not in (service, record.get("service_alias")):
            return False
        if self.grep is not None:
            text = json.dumps(record, ensure_ascii=False, default=str).lower()
            if self.grep.lower() not in text:
                return False
        return True


class _Batch:
    """One write's records (a run's script record and its calls), kept as the log wrote them (its redacted
    JSON text): decoded and annotated when a reader first asks, not on the request's path."""

    __slots__ = ("text", "records", "count")

    def __init__(self, text: str | None, records: list[dict[str, Any]] | None = None, count: int = 0) -> None:
        self.text = text
        self.records = records
        self.count = len(records) if records is not None else count

    def decoded(self) -> list[dict[str, Any]]:
        # text first: it is cleared only after `records` is set, so one of the two is always found
        text = self.text
        records = self.records
        if records is None and text is not None:  # two readers at once decode the same text
            records = self.records = annotate(_records_in(text, self.count))
            self.text = None
        assert records is not None
        return records


def _records_in(text: str, count: int) -> list[dict[str, Any]]:
    """The batch's records; should the text not decode (a secret replaced across JSON's own syntax),
    a server record in each place, saying so, rather than a reader that fails on every later poll."""
    try:
        found = json.loads(text)
    except ValueError:
        found = None
    if isinstance(found, list) and len(found) == count and all(isinstance(r, dict) for r in found):
        return found
    return [{"type": "server", "timestamp": "", "message": "log record lost: its redacted JSON did not decode",
             "error": "log record lost"} for _ in range(count)]


class LogStore:
    """The log records of one served solution, newest last; readers can wait for new ones.

    Readers are served from memory. With a state file the records are also written to it, by a
    writer thread in batches, so a request never waits for the file's commit (a few ms: an fsync).
    A restarted serve on the same file goes on from the records it finds there.
    """

    def __init__(self, state: State, cap: int = LOG_CAP) -> None:
        self._state = state
        self.cap = cap
        # (id, the write it came in, its index there): records are decoded when first read (_Batch)
        self._items: collections.deque[tuple[int, _Batch, int]] = collections.deque(maxlen=cap)
        self._pending: list[tuple[int, str]] = []
        self._changed = threading.Condition()
        self._closed = False
        self._last = 0
        self._writer: threading.Thread | None = None
        if state.path is not None:
            with state.transaction() as db:
                db.execute(_CREATE)
                rows = db.execute(f"SELECT id, record FROM {TABLE} ORDER BY id DESC LIMIT ?", (cap,)).fetchall()
            for row_id, record in _decoded(reversed(rows)):
                self._items.append((row_id, _Batch(None, [record]), 0))
            self._last = max((row[0] for row in rows), default=0)
            self._writer = threading.Thread(target=self._write, name="murano-sim-log-writer", daemon=True)
            self._writer.start()

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        """One write's records (JSON-safe copies the store may keep)."""
        annotated = annotate(records)
        self._add(_Batch(None, annotated), len(annotated))

    def add_json(self, text: str, count: int) -> None:
        """One write's `count` records as a JSON array (SolutionLog.text_listeners): decoded when read."""
        self._add(_Batch(text, count=count), count)

    def _add(self, batch: _Batch, count: int) -> None:
        # with a state file, its rows are written now: the records decoded now
        rows = [json.dumps(record, ensure_ascii=False, default=str) for record in batch.decoded()] \
            if self._writer is not None else None
        with self._changed:
            if self._closed:  # the server stops and its state closes next ("stopped" is not kept)
                return
            for index in range(count):
                self._last += 1
                self._items.append((self._last, batch, index))
                if rows is not None:
                    self._pending.append((self._last, rows[index]))
            self._changed.notify_all()

    def _write(self) -> None:
        """The writer thread: pending records into the state file, one transaction per batch, until close."""
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._pending) or self._closed)
                # gather what comes in the next moment: one commit (an fsync) for many records
                self._changed.wait_for(lambda: self._closed, timeout=FLUSH_DELAY)
                rows, self._pending = self._pending, []
                closing = self._closed
            if rows:
                with self._state.transaction() as db:
                    db.executemany(f"INSERT INTO {TABLE} (id, record) VALUES (?, ?)", rows)
                    db.execute(f"DELETE FROM {TABLE} WHERE id <= ?", (rows[-1][0] - self.cap,))
            if closing:
                return

    def last_id(self) -> int:
        with self._changed:
            return self._last

    def records(self, after: int = 0, where: LogFilter = LogFilter(), limit: int = LOG_CAP) -> list[dict[str, Any]]:
        """The records after id `after` that pass `where` (each with its "id"), oldest first."""
        with self._changed:
            # from the newest back: a poll looks at the few new records only
            newer = list(itertools.takewhile(lambda item: item[0] > after, reversed(self._items)))
        return _matching(((row_id, batch.decoded()[index]) for row_id, batch, index in reversed(newer)), where, limit)

    def wait(self, after: int, timeout: float) -> int:
        """Block until a record newer than `after` exists, the store closes or `timeout` passes; the last id."""
        with self._changed:
            self._changed.wait_for(lambda: self._last > after or self._closed, timeout=timeout)
            return self._last

    def close(self) -> None:
        """Wake every waiting reader and write what is pending (the server is stopping)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._writer is not None:
            self._writer.join()

    def poll(
        self, after: int, where: LogFilter, *, wait: float = 0.0, limit: int = LOG_CAP
    ) -> tuple[list[dict[str, Any]], int]:
        """The records after `after` that pass `where`, waiting up to `wait` seconds for one (a long poll);
        and the id to ask after next time (records skipped by the filter are not looked at again)."""
        deadline = time.monotonic() + max(wait, 0.0)
        cursor = after
        while True:
            last = self.last_id()
            found = self.records(cursor, where, limit)
            cursor = max(last, found[-1]["id"] if found else 0, cursor)
            remaining = deadline - time.monotonic()
            if found or self._closed or remaining <= 0:
                return found, cursor
            self.wait(cursor, remaining)


def read_state_file(path: str | Path, where: LogFilter = LogFilter(), after: int = 0) -> list[dict[str, Any]]:
    """The log records kept in a `--state` file (serve stopped or running), read-only."""
    target = Path(path)
    if not target.is_file():
        raise UsageError(f"{target}: no such state file")
    try:
        db = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)
        try:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (TABLE,)).fetchone() is None:
                return []
            rows = db.execute(f"SELECT id, record FROM {TABLE} WHERE id > ? ORDER BY id", (after,)).fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{target}: not a murano-sim state file ({exc})") from None
    return _matching(_decoded(rows), where, LOG_CAP)


def _decoded(rows: Iterable[tuple[int, str]]) -> Iterator[tuple[int, dict[str, Any]]]:
    for row_id, text in rows:
        try:
            record = json.loads(text)
        except ValueError:
            continue  # a row edited by hand is skipped, not a crash
        if isinstance(record, dict):
            yield row_id, record


def _matching(rows: Iterable[tuple[int, dict[str, Any]]], where: LogFilter, limit: int) -> list[dict[str, Any]]:
    found = [{"id": row_id, **record} for row_id, record in rows if where.matches(record)]
    return found[-limit:] if limit else []
