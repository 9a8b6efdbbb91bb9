"""The state's one SQLite connection, safe to share between threads.

Under `serve` the device API, the MQTT port, the console, the ticker and the solution's executions all
read the same connection from threads of their own. Python's sqlite3 objects must not be used by two
threads at once: a statement stepped by two of them is "bad parameter or other API misuse" (seen on
Python 3.13 under eight devices writing at once). So each statement runs whole, executed and fetched,
under the state's lock; transactions hold the same (re-entrant) lock around all of theirs.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any


class Rows:
    """What a statement gave, already fetched: the part of sqlite3.Cursor the services use."""

    __slots__ = ("_rows", "_next", "lastrowid", "rowcount")

    def __init__(self, rows: list[Any], lastrowid: int | None, rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self.lastrowid = lastrowid
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Any]:
        rest, self._next = self._rows[self._next:], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class SharedConnection:
    """A sqlite3 connection whose statements each run under `lock` (see the module's docstring)."""

    def __init__(self, raw: sqlite3.Connection, lock: threading.RLock) -> None:
        self.raw = raw  # for what needs the connection itself (backup targets, trace callbacks in tests)
        self._lock = lock

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Rows:
        with self._lock:
            cursor = self.raw.execute(sql, parameters)
            return Rows(cursor.fetchall(), cursor.lastrowid, cursor.rowcount)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Rows:
        with self._lock:
            cursor = self.raw.executemany(sql, rows)
            return Rows([], cursor.lastrowid, cursor.rowcount)

    def backup(self, target: sqlite3.Connection) -> None:
        with self._lock:
            self.raw.backup(target)

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    @property
    def total_changes(self) -> int:
        return self.raw.total_changes

    def close(self) -> None:
        with self._lock:
            self.raw.close()


# What a reader of rows accepts: the state's shared connection, or a plain one (a file opened by a CLI command).
Database = sqlite3.Connection | SharedConnection
