"""Which Lua engine the suite runs on (MURANO_SIM_LUA, README: Portability): LuaJIT-only tests say so."""

from __future__ import annotations

import pytest

from murano_sim.lua.engine import IS_LUAJIT


def luajit_only(reason: str) -> pytest.MarkDecorator:
    """Skip on plain Lua 5.1 (the suite's Lua 5.1 run, macOS), naming the difference."""
    return pytest.mark.skipif(not IS_LUAJIT, reason=f"LuaJIT only: {reason}")
