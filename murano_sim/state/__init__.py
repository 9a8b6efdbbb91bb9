"""A solution's state: one SQLite database that every local service keeps its tables in.

In memory by default; `--state PATH` keeps it in a file, so data survives a restart. Services
create their own tables (named after their alias) and register a reset function; `reset()`
empties every service and puts its seed back.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from ..errors import UsageError
from .connection import SharedConnection

MEMORY_SAVE_EVERY = 64
_META = "CREATE TABLE IF NOT EXISTS murano_sim_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


class State:
    """One solution's data. `db` is shared by every local service and thread; use `transaction()` to write."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        target = str(self.path) if self.path is not None else ":memory:"
        self.lock = threading.RLock()
        try:
            # Shared by every thread of the process; each statement runs under self.lock (state/connection.py).
            self.db = SharedConnection(sqlite3.connect(target, check_same_thread=False, isolation_level=None),
                                       self.lock)
            self.db.execute("PRAGMA journal_mode=WAL" if self.path else "PRAGMA journal_mode=MEMORY")
            self.db.execute(_META)
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{target}: cannot open the state database ({exc})") from None
        self._resets: list[Callable[[], None]] = []
        self._resets_after: list[Callable[[], None]] = []
        self._savers: list[Callable[[], None]] = []
        self._loaders: list[Callable[[], None]] = []
        self._runs_unsaved = 0  # executions since the last save (a state in memory saves every MEMORY_SAVE_EVERY)
        self._clean_changes = -1  # db.total_changes right after the last reset (-1: none yet)

    @contextmanager
    def restoring(self) -> Iterator[None]:
        """Around the services' first read of this state: a row that does not decode (the file was
        edited or damaged) is one UsageError, and nothing is written back to the file."""
        try:
            yield
        except (json.JSONDecodeError, sqlite3.DatabaseError) as exc:
            self._savers.clear()  # half-restored services must not be saved over the file
            self.db.close()
            raise UsageError(f"{self.path or 'memory'}: cannot restore from this state file, left as it is "
                             f"({type(exc).__name__}: {exc})") from None

    # -- the deploy marker: init.lua runs once per fresh state -----------------------------------
    def initialized(self, solution: str) -> bool:
        """Whether `solution`'s init.lua has run on this state (a deploy happened)."""
        row = self.db.execute("SELECT value FROM murano_sim_meta WHERE key = ?", (f"initialized:{solution}",))
        return row.fetchone() is not None

    def mark_initialized(self, solution: str) -> None:
        with self.transaction() as db:
            key = f"initialized:{solution}"
            db.execute("INSERT OR REPLACE INTO murano_sim_meta (key, value) VALUES (?, '1')", (key,))

    # -- services --------------------------------------------------------------------------------
    def on_reset(self, reset: Callable[[], None], *, in_transaction: bool = True) -> None:
        """Register a service's reset: it empties the service and re-applies its seed. in_transaction=False:
        a service whose data is not (yet) in this database resets after the shared transaction commits."""
        (self._resets if in_transaction else self._resets_after).append(reset)

    def on_load(self, reload: Callable[[], None]) -> None:
        """Register a service that keeps a copy in memory: reload() reads it again from this database
        after a snapshot replaced its rows (state/snapshots.py)."""
        self._loaders.append(reload)

    def reloaded(self) -> None:
        """The rows were replaced underneath the services (a snapshot load): each copy in memory is read again."""
        with self.lock:
            for reload in self._loaders:
                reload()

    def on_save(self, save: Callable[[], None]) -> None:
        """Register a service that keeps data outside SQLite (fakeredis): save() copies it in."""
        self._savers.append(save)

    @contextmanager
    def transaction(self) -> Iterator[SharedConnection]:
        """One atomic write: everything or nothing (nested calls join the outer transaction)."""
        with self.lock:
            if self.db.in_transaction:
                yield self.db
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def save(self) -> None:
        """Copy data kept outside SQLite into it (before the database is read whole, and on close)."""
        with self.lock:
            self._runs_unsaved = 0
            for save in self._savers:
                save()

    def executed(self) -> None:
        """After each execution. A state file gets what the services keep in memory at once: a killed
        process loses no acknowledged write. A state in memory dies with the process: it is copied when
        the database is read whole (a snapshot, close) and every MEMORY_SAVE_EVERY executions, which
        bounds what the services keep marked as unsaved. Each copy is a transaction of its own; under
        serve's load every statement is a GIL hand-over (docs/benchmarks.md)."""
        self._runs_unsaved += 1
        if self.path is not None or self._runs_unsaved >= MEMORY_SAVE_EVERY:
            self.save()

    def reset(self) -> None:
        """Every service back to its seeded state, and the state fresh again (init.lua will run)."""
        with self.lock:
            # Not a row written since the last reset (a pooled test runtime after a case that stored nothing):
            # no init marker to delete, no shared transaction (~40% of a reset); each service's reset still
            # runs (data kept in memory), writing in transactions of its own if it writes.
            quiet = self.db.total_changes == self._clean_changes and not self.db.in_transaction
            with nullcontext() if quiet else self.transaction():  # one transaction: the services' own join it
                if not quiet:
                    self.db.execute("DELETE FROM murano_sim_meta WHERE key LIKE 'initialized:%'")
                for reset in self._resets:
                    reset()
            for reset in self._resets_after:
                reset()
            self._clean_changes = self.db.total_changes  # rows inserted, updated or deleted on this connection

    def close(self) -> None:
        with self.lock:
            self.save()
            self.db.close()

    def __repr__(self) -> str:
        return f"State({str(self.path) if self.path else 'memory'})"
