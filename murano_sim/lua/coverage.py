"""Lua line coverage: which lines of the solution's files ran (pytest --murano-cov, docs/coverage.md).

One `LineCoverage` is active per process while it is on; every LuaVM asks `active()` at each run
(None when off: the only cost then). A VM keeps one hits table per (chunk name, source): a Lua
table of executable line -> count, every key present before the run, that sandbox.lua's line
hook increments. Their counts come back here when the VM is collected, or at `data()`.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..errors import UsageError
from .engine import lupa_lua

# Run outside the sandbox, on a plain runtime of its own: the chunk is compiled, never run.
# Every bytecode of every prototype, the header (pc 0, FUNCF: its line never fires the hook)
# left out, names its line in the debug info; jit.util reads it (LuaJIT's own jit.bc does too).
# A nested function's implicit return shares its `end` line with the FNEW that makes it.
_LINES_OF = b"""
local source, name = ...
local util, band = require("jit.util"), bit.band
local chunk, err = loadstring(source, name)
if not chunk then return nil, err end
local RET0 = band(util.funcbc(loadstring(""), 1), 0xff)  -- an empty chunk is FUNCV, RET0
local lines = {}
local function walk(fn, main)
  local info = util.funcinfo(fn)
  local last = info.bytecodes - 1
  for pc = 1, last do
    lines[#lines + 1] = util.funcinfo(fn, pc).currentline
  end
  -- The main chunk's implicit final return sits on its last line (an `end`, say) and fires only
  -- when the chunk runs to its end: that line is no statement of its own, so it is left out.
  if main and last >= 1 and band(util.funcbc(fn, last), 0xff) == RET0 then
    local line = lines[#lines]
    lines[#lines] = nil
    for i = 1, #lines do if lines[i] == line then lines[#lines + 1] = line break end end
  end
  for k = 1, info.gcconsts do
    local const = util.funck(fn, -k)
    if type(const) == "proto" then walk(const, false) end
  end
end
walk(chunk, true)
return lines
"""

_executable_lock = threading.Lock()
_executable_runtime: Any = None


def executable_lines(source: str | bytes, name: str = "chunk") -> frozenset[int]:
    """The lines of a chunk that hold bytecode, i.e. that a line hook can report.

    A line past the source's last one (the implicit final return after a trailing newline) is
    left out. A chunk that does not compile has none (its run fails before any line runs)."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    return _executable(data, name)


@lru_cache(maxsize=1024)
def _executable(data: bytes, name: str) -> frozenset[int]:
    global _executable_runtime
    with _executable_lock:
        if _executable_runtime is None:
            runtime = lupa_lua.LuaRuntime(register_eval=False, register_builtins=False, encoding=None)
            if not runtime.eval(b"jit ~= nil and pcall(require, 'jit.util')"):
                raise UsageError("--murano-cov needs LuaJIT (its jit.util reads the lines); this run is plain Lua 5.1")
            _executable_runtime = runtime.compile(_LINES_OF)
        lines = _executable_runtime(data, ("=" + name).encode())
    if isinstance(lines, tuple):  # nil, the syntax error
        return frozenset()
    last = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return frozenset(int(n) for n in lines.values() if 0 < int(n) <= last)


@dataclass
class FileCoverage:
    """One chunk's coverage: its name as the runtime saw it, its source, and line -> hits."""

    name: str
    source: str
    hits: dict[int, int] = field(default_factory=dict)  # every executable line, 0 if it never ran

    @property
    def executable(self) -> list[int]:
        return sorted(self.hits)

    @property
    def hit(self) -> int:
        return sum(1 for n in self.hits.values() if n)


class LineCoverage:
    """Counts, for every (chunk name, source) any VM ran while this is active, each line's hits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[tuple[str, bytes], FileCoverage] = {}  # (name, sha1 of the source)
        self._pending: list[weakref.finalize[Any, Any]] = []

    def tables(self, vm: Any, lua: Any, cache: dict[tuple[str, bytes], Any],
               chunks: Iterable[tuple[str, bytes]]) -> Any:
        """The Lua table chunk name -> hits for one run; `cache` is the VM's (made on first use)."""
        if not cache:
            self._pending.append(weakref.finalize(vm, self._absorb, cache))
        out = lua.table()
        for name, source in chunks:
            key = (name, hashlib.sha1(source).digest())
            table = cache.get(key)
            if table is None:
                lines = executable_lines(source, name)
                table = cache[key] = lua.table_from({line: 0 for line in lines})
                text = source.decode("utf-8", "replace")
                with self._lock:
                    self._files.setdefault(key, FileCoverage(name, text, dict.fromkeys(lines, 0)))
            out[("=" + name).encode()] = table
        return out

    def _absorb(self, cache: dict[tuple[str, bytes], Any]) -> None:
        """Add a VM's counts (when it is collected, or at data())."""
        counted = [(key, {int(k): int(v) for k, v in table.items()}) for key, table in cache.items()]
        with self._lock:
            for key, counts in counted:
                self._count(self._files[key], counts)
            cache.clear()

    def add(self, name: str, source: str, hits: dict[int, int]) -> None:
        """Merge counts gathered elsewhere (an xdist worker's)."""
        key = (name, hashlib.sha1(source.encode("utf-8")).digest())
        with self._lock:
            self._count(self._files.setdefault(key, FileCoverage(name, source)), hits)

    @staticmethod
    def _count(file: FileCoverage, counts: dict[int, int]) -> None:
        for line, n in counts.items():
            file.hits[line] = file.hits.get(line, 0) + n

    def data(self) -> list[FileCoverage]:
        """Every file's coverage so far, every VM's counts included."""
        for pending in self._pending:
            pending()  # runs once: a VM collected earlier already gave its counts
        self._pending = [p for p in self._pending if p.alive]
        with self._lock:
            return [FileCoverage(f.name, f.source, dict(f.hits)) for f in self._files.values()]


_active: LineCoverage | None = None
_outer: list[LineCoverage | None] = []  # what start() replaced (a pytest session inside another)


def active() -> LineCoverage | None:
    """The coverage being gathered, or None (the usual case: coverage off)."""
    return _active


def start() -> LineCoverage:
    """Count from now on, in a new LineCoverage, until stop()."""
    global _active
    _outer.append(_active)
    _active = LineCoverage()
    return _active


def stop() -> None:
    """Stop the coverage start() began: the one it replaced, if any, counts again."""
    global _active
    _active = _outer.pop() if _outer else None
