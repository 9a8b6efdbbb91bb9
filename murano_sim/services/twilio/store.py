"""Where records live: an in-memory store with per-scope creation-ordered indexes, and a variant
kept in the solution's State (one SQLite for every service) so a restart loses nothing.

A scope is ("messages", account), ("calls", account) or ("media", message sid). Paging walks a
scope's index from a cursor, so a page costs the same with 100 or 100,000 records stored.
Callers serialise access (the backend holds one lock around every store call).
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ...errors import UsageError
from ...state import State
from ...state.connection import Database
from .models import Call, Media, Message, PhoneNumber, Record, from_state, to_state

Scope = tuple[str, str]

log = logging.getLogger("murano_sim.emulator")


def scope_of(record: Record) -> Scope:
    if isinstance(record, Message):
        return ("messages", record.account_sid)
    if isinstance(record, Call):
        return ("calls", record.account_sid)
    if isinstance(record, Media):
        return ("media", record.parent_sid)
    if isinstance(record, PhoneNumber):
        return ("numbers", record.account_sid)
    raise TypeError(f"not a record: {record!r}")


class _Index:
    """One scope's records: sequence numbers in creation order (deleted ones skipped lazily)."""

    __slots__ = ("seqs", "live")

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.live: dict[int, Record] = {}

    def add(self, record: Record) -> None:
        if self.seqs and record.seq < self.seqs[-1]:
            bisect.insort(self.seqs, record.seq)
        else:
            self.seqs.append(record.seq)
        self.live[record.seq] = record

    def remove(self, seq: int) -> None:
        self.live.pop(seq, None)
        i = bisect.bisect_left(self.seqs, seq)
        if i < len(self.seqs) and self.seqs[i] == seq:
            del self.seqs[i]

    def older_than(self, seq: int | None) -> Iterator[Record]:
        i = len(self.seqs) if seq is None else bisect.bisect_left(self.seqs, seq)
        while i > 0:
            i -= 1
            record = self.live.get(self.seqs[i])
            if record is not None:
                yield record

    def newer_than(self, seq: int) -> Iterator[Record]:
        for i in range(bisect.bisect_right(self.seqs, seq), len(self.seqs)):
            record = self.live.get(self.seqs[i])
            if record is not None:
                yield record


class MemoryStore:
    """Records in memory, indexed by SID and by scope in creation order."""

    def __init__(self) -> None:
        self._by_sid: dict[str, Record] = {}
        # sid -> (scope, seq), kept after deletion so an old page cursor still resolves (in its scope only)
        self._seq_of: dict[str, tuple[Scope, int]] = {}
        self._indexes: dict[Scope, _Index] = {}
        self._next_seq = 1
        self._meta: dict[str, Any] = {}

    def add(self, record: Record) -> Record:
        record.seq = self._next_seq
        self._next_seq += 1
        self._insert(record)
        self._persist(record)
        return record

    def _insert(self, record: Record) -> None:
        self._by_sid[record.sid] = record
        self._seq_of[record.sid] = (scope_of(record), record.seq)
        self._indexes.setdefault(scope_of(record), _Index()).add(record)
        self._next_seq = max(self._next_seq, record.seq + 1)

    def get(self, sid: str) -> Record | None:
        return self._by_sid.get(sid)

    def save(self, record: Record) -> None:
        """Called after a record was changed in place."""
        self._persist(record)

    def delete(self, sid: str) -> None:
        record = self._by_sid.pop(sid, None)
        if record is not None:
            index = self._indexes.get(scope_of(record))
            if index is not None:
                index.remove(record.seq)
            self._forget(record)

    def evict(self, sid: str) -> None:
        """Delete a record and forget it entirely (a page cursor naming it no longer resolves)."""
        self.delete(sid)
        self._seq_of.pop(sid, None)

    def __len__(self) -> int:
        return len(self._by_sid)

    def oldest(self) -> Iterator[Record]:
        """Every record, oldest first (a snapshot: safe to delete while iterating)."""
        return iter(list(self._by_sid.values()))

    def seq_of(self, sid: str, scope: Scope) -> int | None:
        """The sequence number of a record that is or was in `scope`; None for any other SID."""
        found = self._seq_of.get(sid)
        return found[1] if found is not None and found[0] == scope else None

    def newest_first(self, scope: Scope, before_seq: int | None = None) -> Iterator[Record]:
        index = self._indexes.get(scope)
        return index.older_than(before_seq) if index else iter(())

    def oldest_first(self, scope: Scope, after_seq: int) -> Iterator[Record]:
        index = self._indexes.get(scope)
        return index.newer_than(after_seq) if index else iter(())

    def in_creation_order(self, scope: Scope) -> list[Record]:
        return list(reversed(list(self.newest_first(scope))))

    def all_records(self) -> list[Record]:
        return sorted(self._by_sid.values(), key=lambda r: r.seq)

    def restore(self, records: Iterable[Record]) -> None:
        """Replace everything with these records, keeping their SIDs and sequence numbers."""
        records = list(records)  # built in full before anything is cleared
        self._clear()
        for record in records:
            self._insert(record)
            self._persist(record)

    def _clear(self) -> None:
        self._by_sid.clear()
        self._seq_of.clear()
        self._indexes.clear()
        self._next_seq = 1

    # Persistence hooks: nothing to do in memory.
    def _persist(self, record: Record) -> None:
        pass

    def _forget(self, record: Record) -> None:
        pass

    def get_meta(self, key: str) -> Any:
        return self._meta.get(key)

    def set_meta(self, key: str, value: Any) -> None:
        self._meta[key] = value

    def flush(self) -> None:
        """Write changes through to where the records are kept: nowhere, in memory."""


class StateStore(MemoryStore):
    """The in-memory store, kept in the solution's State (tables twilio_records, twilio_meta).

    Changed records are marked and written in one transaction by flush(): after every change when
    `write_through` (a state file: a restart loses nothing), else on State.save() (memory: the
    create path stays as cheap as the plain MemoryStore's).
    """

    def __init__(self, state: State, *, write_through: bool) -> None:
        super().__init__()
        self.state = state
        self.write_through = write_through
        self._dirty: dict[str, Record] = {}
        self._gone: set[str] = set()
        self._dirty_meta: dict[str, Any] = {}
        self._wipe = False
        self._tables_made = False
        self.migrated = False
        with state.lock:
            rows, meta, self.migrated = read_state(state.db, str(state.path or "memory"))
        for record in rows:
            self._insert(record)
        self._meta = meta
        self._next_seq = max(self._next_seq, int(meta.get("next_seq") or 1))
        if self.migrated:  # copied once from the emulator's own tables of an older version
            log.info("%s: the Twilio emulator's records copied from its old tables (records, meta) into "
                     "twilio_records, twilio_meta", state.path)
            self._wipe = True
            self._dirty = {r.sid: r for r in rows}
            self._dirty_meta = dict(meta)

    def reload(self) -> None:
        """Read every record and meta value again from the State (its rows were replaced: a snapshot load)."""
        rows, meta, _ = read_state(self.state.db, str(self.state.path or "memory"))
        MemoryStore._clear(self)
        self._dirty, self._gone, self._dirty_meta, self._wipe = {}, set(), {}, False
        for record in rows:
            self._insert(record)
        self._meta = meta
        self._next_seq = max(self._next_seq, int(meta.get("next_seq") or 1))

    def add(self, record: Record) -> Record:
        record = super().add(record)
        self.set_meta("next_seq", self._next_seq)
        return record

    def save(self, record: Record) -> None:
        if self._by_sid.get(record.sid) is record:  # a record replaced by a reset meanwhile is not written
            self._persist(record)

    def _persist(self, record: Record) -> None:
        self._dirty[record.sid] = record
        self._gone.discard(record.sid)
        if self.write_through:
            self.flush()

    def _forget(self, record: Record) -> None:
        self._dirty.pop(record.sid, None)
        self._gone.add(record.sid)
        if self.write_through:
            self.flush()

    def _clear(self) -> None:
        super()._clear()
        self._dirty.clear()
        self._gone.clear()
        self._wipe = True

    def restore(self, records: Iterable[Record]) -> None:
        write_through, self.write_through = self.write_through, False
        try:
            super().restore(records)
        finally:
            self.write_through = write_through
        if write_through:
            self.flush()  # one transaction: the file holds the old state or the new one, never half

    def set_meta(self, key: str, value: Any) -> None:
        self._meta[key] = value
        self._dirty_meta[key] = value
        if self.write_through:
            self.flush()

    def flush(self) -> None:
        """Write the changes since the last flush in one transaction (callers hold the backend's lock)."""
        if not (self._dirty or self._gone or self._dirty_meta or self._wipe):
            return
        with self.state.transaction() as db:
            if not self._tables_made:  # made on the first write: opening a state writes nothing
                db.execute(_RECORDS)
                db.execute(_META)
            if self._wipe:
                db.execute("DELETE FROM twilio_records")
            db.executemany("DELETE FROM twilio_records WHERE sid = ?", [(sid,) for sid in self._gone])
            db.executemany("INSERT OR REPLACE INTO twilio_records (seq, sid, data) VALUES (?, ?, ?)",
                           [(r.seq, r.sid, json.dumps(to_state(r))) for r in self._dirty.values()])
            db.executemany("INSERT OR REPLACE INTO twilio_meta (key, value) VALUES (?, ?)",
                           [(k, json.dumps(v)) for k, v in self._dirty_meta.items()])
        self._dirty, self._gone, self._dirty_meta, self._wipe = {}, set(), {}, False
        self._tables_made = True


_RECORDS = "CREATE TABLE IF NOT EXISTS twilio_records (seq INTEGER PRIMARY KEY, sid TEXT UNIQUE, data TEXT)"
_META = "CREATE TABLE IF NOT EXISTS twilio_meta (key TEXT PRIMARY KEY, value TEXT)"


def read_state(db: Database, where: str) -> tuple[list[Record], dict[str, Any], bool]:
    """The records and meta kept in a database, nothing written: from twilio_records/twilio_meta, else from
    the tables `records`/`meta` the emulator kept its own file in before (migrated: True). A row that does
    not decode is one UsageError naming the file, which is left as it is."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    records, meta, migrated = "twilio_records", "twilio_meta", False
    if "twilio_meta" not in tables and {"records", "meta"} <= tables:
        records, meta, migrated = "records", "meta", True
    if records not in tables:
        return [], {}, False
    try:
        rows = [from_state(json.loads(data)) for (data,) in db.execute(f"SELECT data FROM {records} ORDER BY seq")]
        values = {key: json.loads(value) for key, value in db.execute(f"SELECT key, value FROM {meta}")}
    except (ValueError, KeyError, TypeError) as exc:  # a row the file was edited or damaged in
        raise UsageError(f"{where}: cannot restore from this state file, left as it is "
                         f"({type(exc).__name__}: {exc})") from None
    return rows, values, migrated


def check_state_file(path: str | os.PathLike[str]) -> None:
    """Read an existing state file without writing to it: a row that does not decode is a UsageError
    before anything opens the file for writing (the file is left exactly as it is)."""
    if not os.path.isfile(path):
        return
    try:
        db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise UsageError(f"--state {os.fspath(path)}: cannot use as a SQLite state file ({exc})") from None
    try:
        read_state(db, os.fspath(path))
    except sqlite3.Error as exc:
        raise UsageError(f"--state {os.fspath(path)}: cannot use as a SQLite state file ({exc})") from None
    finally:
        db.close()
