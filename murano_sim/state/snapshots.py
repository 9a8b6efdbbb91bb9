"""Named snapshots of a solution's whole state, kept in the state's own SQLite (table murano_sim_snapshots).

A snapshot is a copy of every table (the snapshots themselves and history tables such as the log
left out: see `keep_out`), the solution it belongs
to and the clock's position. Load is one transaction: a damaged, foreign or older-format snapshot is
one UsageError and the state is left as it was. docs/state.md says why they live here.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import tempfile
from datetime import datetime, timezone
from typing import Any

from ..errors import UsageError
from . import State
from .connection import Database

TABLE = "murano_sim_snapshots"
FORMAT = 1  # bump when a snapshot's content changes meaning; an older one is then refused, not misread
_CREATE = (f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, format INTEGER NOT NULL, "
           "solution TEXT NOT NULL, clock TEXT NOT NULL, created TEXT NOT NULL, data BLOB NOT NULL)")
# Tables that record what happened rather than the solution's data: neither saved nor replaced.
_KEPT_OUT: set[str] = {TABLE}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def keep_out(table: str) -> None:
    """Leave `table` out of every snapshot and load: it is history (e.g. the log), not the solution's state."""
    _KEPT_OUT.add(table)


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UsageError(f"snapshot name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', starting "
                         "with a letter or digit")
    return name


def save(state: State, name: str, *, solution: str, clock: datetime) -> dict[str, Any]:
    """Copy the whole state under `name` (replacing a snapshot of that name); returns its listing entry."""
    check_name(name)
    with state.lock:
        state.save()  # what services keep in memory goes into SQLite first
        copy = sqlite3.connect(":memory:")
        try:
            state.db.backup(copy)
            copy.execute(f"DROP TABLE IF EXISTS {TABLE}")
            copy.execute("VACUUM")
            data = serialize(copy)
        finally:
            copy.close()
        created = datetime.now(timezone.utc).isoformat()
        with state.transaction() as db:
            db.execute(_CREATE)
            db.execute(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?)",
                       (name, FORMAT, solution, clock.isoformat(), created, data))
    return {"name": name, "clock": clock.isoformat(), "created": created, "bytes": len(data)}


def listing(state: State) -> list[dict[str, Any]]:
    """Every snapshot, oldest first: name, clock, created, bytes."""
    with state.lock:
        if not _exists(state):
            return []
        rows = state.db.execute(f"SELECT name, clock, created, length(data) FROM {TABLE} ORDER BY created, name")
        return [{"name": n, "clock": c, "created": t, "bytes": b} for n, c, t, b in rows.fetchall()]


def delete(state: State, name: str) -> None:
    check_name(name)
    with state.transaction() as db:
        if not _exists(state) or db.execute(f"DELETE FROM {TABLE} WHERE name = ?", (name,)).rowcount == 0:
            raise UsageError(f"no snapshot {name!r}")


def load(state: State, name: str, *, solution: str) -> datetime:
    """Replace every table with the snapshot's, in one transaction, then let the services re-read
    (State.reloaded). Returns the clock's position when it was saved. Nothing changes on error."""
    check_name(name)
    with state.lock:
        row = state.db.execute(f"SELECT format, solution, clock, data FROM {TABLE} WHERE name = ?",
                               (name,)).fetchone() if _exists(state) else None
        if row is None:
            raise UsageError(f"no snapshot {name!r} (see `murano-sim snapshot list`)")
        format_, owner, clock, data = row
        if format_ != FORMAT:
            raise UsageError(f"snapshot {name!r} has format {format_}, this murano-sim reads {FORMAT}; nothing loaded")
        if owner != solution:
            raise UsageError(f"snapshot {name!r} is of the solution {owner}, not {solution}; nothing loaded")
        try:
            position = datetime.fromisoformat(clock)
        except (TypeError, ValueError):
            raise UsageError(f"snapshot {name!r}: its clock {clock!r} is not a time; nothing loaded") from None
        state.save()  # nothing the services hold in memory is left unwritten (and then overwritten)
        source = sqlite3.connect(":memory:")
        try:
            deserialize(source, data)
            _replace(state, source, name)
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"snapshot {name!r} cannot be loaded ({exc}); nothing loaded") from None
        finally:
            source.close()
        state.reloaded()
    return position


if sys.version_info >= (3, 11):
    def serialize(db: sqlite3.Connection) -> bytes:
        """The database's file bytes (Connection.serialize, or through a file on 3.10)."""
        return db.serialize()

    def deserialize(db: sqlite3.Connection, data: bytes) -> None:
        """Replace db's content (an in-memory database) with the file bytes `data`."""
        db.deserialize(data)
else:
    # Python 3.10's sqlite3 has no serialize/deserialize: the same database-file bytes, through a file.
    def serialize(db: sqlite3.Connection) -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "snapshot.db")
            target = sqlite3.connect(path)
            try:
                db.backup(target)
            finally:
                target.close()
            with open(path, "rb") as file:
                return file.read()

    def deserialize(db: sqlite3.Connection, data: bytes) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "snapshot.db")
            with open(path, "wb") as file:
                file.write(data)
            source = sqlite3.connect(path)
            try:
                source.backup(db)
            finally:
                source.close()


def _exists(state: State) -> bool:
    found = state.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,))
    return found.fetchone() is not None


def _tables(db: Database) -> dict[str, str | None]:
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    # sqlite_sequence (AUTOINCREMENT's counters) last: the tables that use it exist by then
    return {n: s for n, s in sorted(rows, key=lambda r: r[0] == "sqlite_sequence") if n not in _KEPT_OUT}


def _replace(state: State, source: sqlite3.Connection, name: str) -> None:
    """Every table of the state emptied and refilled from `source`, all or nothing."""
    wanted = _tables(source)
    if "murano_sim_meta" not in wanted:
        raise UsageError(f"snapshot {name!r} is not a murano-sim state; nothing loaded")
    with state.transaction() as db:
        present = _tables(db)
        for table in present:
            db.execute(f'DELETE FROM "{table}"')
        for table, sql in wanted.items():
            if table not in present:
                if table.startswith("sqlite_") or not sql:
                    if table not in _tables(db):  # sqlite_sequence: made by the AUTOINCREMENT tables just created
                        continue
                else:
                    db.execute(sql)  # a service built since the snapshot was not, or the other way round
                    for (index,) in source.execute("SELECT sql FROM sqlite_master WHERE type = 'index' "
                                                   "AND tbl_name = ? AND sql IS NOT NULL", (table,)):
                        db.execute(index)
            if table == "sqlite_sequence":  # the inserts above counted their own rows: the snapshot's counters win
                db.execute("DELETE FROM sqlite_sequence")
            rows = source.execute(f'SELECT * FROM "{table}"').fetchall()
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                db.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
