"""Test runtimes reused within one pytest process (one xdist worker), reset between tests.

Building a Runtime and its local backends costs about 5 ms (a LuaJIT state, fakeredis, SQLite, the
emulator's seed); putting one back to its seed costs about 0.2 ms. So a script case, a `murano`
fixture test or a Lua test takes a runtime from here, keyed by its effective configuration, and
gets it as a fresh one would be: every service back to its seed (Runtime.reset), the service
parameters as configured, no pending events or event sink, and the manual clock started again
at the real time. Served solutions (and live backends) still get a runtime of their own.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ..config import Config
from .testbed import built_backend_controls, open_testbed

if TYPE_CHECKING:
    from ..runtime import Runtime

MAX_RUNTIMES = 8  # distinct configurations kept at once (markers and case configs make more)


class _Pooled:
    def __init__(self, runtime: Runtime, config: Config) -> None:
        self.runtime = runtime
        self.config = config  # the Config it was asked for: the same object finds it without a key
        self.parameters = runtime.platform.parameters_snapshot()


class RuntimePool:
    """Runtimes with local backends, one per (configuration, Lua controls), least recently used dropped."""

    def __init__(self, size: int = MAX_RUNTIMES) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, ...], _Pooled] = OrderedDict()
        self._same: dict[tuple[int, bool], tuple[str, ...]] = {}  # id(config) -> key, checked by identity

    @staticmethod
    def reusable(config: Config) -> bool:
        """Only local backends are reset in place; a live one (cassettes) gets its own runtime."""
        return not any(isinstance(section, dict) and section.get("backend") == "live"
                       for section in config.services.values())

    def acquire(self, config: Config, *, lua_controls: bool = False) -> Runtime:
        """A runtime for `config` in the state a new one would have."""
        key = self._same.get((id(config), lua_controls))
        if key is None or self._entries[key].config is not config:
            key = _key(config, lua_controls)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Pooled(open_testbed(config, lua_controls=lua_controls), config)
            self._same[id(config), lua_controls] = key
            while len(self._entries) > self._size:
                _, dropped = self._entries.popitem(last=False)
                self._same = {k: v for k, v in self._same.items() if v in self._entries}
                dropped.runtime.close()
            return entry.runtime
        self._entries.move_to_end(key)
        fresh(entry.runtime, entry.parameters)
        return entry.runtime

    def close(self) -> None:
        self._same.clear()
        while self._entries:
            _, entry = self._entries.popitem()
            entry.runtime.close()


def fresh(runtime: Runtime, parameters: Any) -> None:
    """Put a used test runtime back to how open_testbed made it."""
    platform = runtime.platform
    clock_set = getattr(platform.clock, "set", None)
    if clock_set is not None:
        clock_set()  # first: seeds and schedules count from the new start
    platform.on_event = None
    platform.restore_parameters(parameters)
    runtime.reset()
    for control in built_backend_controls(runtime).values():
        take = getattr(control, "take_defects", None)
        if take is not None:
            take()  # already reported by the test that caused them


def _key(config: Config, lua_controls: bool) -> tuple[str, ...]:
    data = json.dumps(config.data, sort_keys=True, default=repr)
    return (data, str(config.base_dir), str(config.source), str(lua_controls))
