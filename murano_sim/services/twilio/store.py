"""Where records live: an in-memory store with per-scope creation-ordered indexes, and a SQLite
variant that writes through to a file so a restart loses nothing.

A scope is ("messages", account), ("calls", account) or ("media", message sid). Paging walks a
scope's index from a cursor, so a page costs the same with 100 or 100,000 records stored.
Callers serialise access (the backend holds one lock around every store call).
"""

from __future__ import annotations

import bisect
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from ...errors import UsageError
from .models import Call, Media, Message, PhoneNumber, Record, from_state, to_state

Scope = tuple[str, str]


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

    def close(self) -> None:
        pass


class SqliteStore(MemoryStore):
    """The in-memory store, written through to a SQLite file and reloaded from it on start."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self._db = sqlite3.connect(os.fspath(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY, sid TEXT UNIQUE, data TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        try:
            for (data,) in self._db.execute("SELECT data FROM records ORDER BY seq"):
                self._insert(from_state(json.loads(data)))
            row = self._db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()
            if row:
                self._next_seq = max(self._next_seq, int(row[0]))
        except (ValueError, KeyError, TypeError) as exc:  # a row the file was edited or damaged in
            self._db.close()
            raise UsageError(f"{os.fspath(path)}: cannot restore from this state file, left as it is "
                             f"({type(exc).__name__}: {exc})") from None

    def add(self, record: Record) -> Record:
        record = super().add(record)
        self.set_meta("next_seq", self._next_seq)
        return record

    def _persist(self, record: Record) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO records (seq, sid, data) VALUES (?, ?, ?)",
            (record.seq, record.sid, json.dumps(to_state(record))),
        )

    def _forget(self, record: Record) -> None:
        self._db.execute("DELETE FROM records WHERE sid = ?", (record.sid,))

    def _clear(self) -> None:
        super()._clear()
        self._db.execute("DELETE FROM records")

    def restore(self, records: Iterable[Record]) -> None:
        records = list(records)
        with self._db:  # one transaction: the file holds the old state or the new one, never half
            self._db.execute("BEGIN IMMEDIATE")
            super().restore(records)

    def get_meta(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_meta(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def close(self) -> None:
        self._db.close()
