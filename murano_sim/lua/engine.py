"""The Lua engine in use: LuaJIT 2.1 (Murano's VM), or plain Lua 5.1 when MURANO_SIM_LUA=lua51.

lupa's macOS wheels ship no LuaJIT; there LuaJIT is missing and murano-sim falls back to Lua 5.1.
Whenever the engine is not LuaJIT, one line on stderr says so at start (never silently). Where the
two differ, the sandbox behaves the same or refuses with the reason (README: Portability).
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

ENGINE_ENV = "MURANO_SIM_LUA"
ENGINES = ("luajit", "lua51")


def _select() -> tuple[ModuleType, str]:
    choice = os.environ.get(ENGINE_ENV, "").strip().lower() or "luajit"
    if choice not in ENGINES:
        # At import, before any command can catch an error: one line and the usage exit code.
        print(f"murano-sim: {ENGINE_ENV}={choice!r} is not a Lua engine; use luajit or lua51", file=sys.stderr)
        raise SystemExit(2)
    if choice == "luajit":
        try:
            from lupa import luajit21

            return luajit21, "luajit"
        except ImportError:  # macOS wheels: no LuaJIT
            reason = "this lupa wheel has no LuaJIT"
    else:
        reason = f"{ENGINE_ENV}=lua51"
    from lupa import lua51

    print(f"murano-sim: warning: running plain Lua 5.1, not LuaJIT as Murano does ({reason}); "
          "see the README's Portability section", file=sys.stderr)
    return lua51, "lua51"


lupa_lua, ENGINE = _select()
IS_LUAJIT = ENGINE == "luajit"

LuaError = lupa_lua.LuaError
LuaMemoryError = lupa_lua.LuaMemoryError
lua_type = lupa_lua.lua_type

__all__ = ["ENGINE", "ENGINE_ENV", "IS_LUAJIT", "LuaError", "LuaMemoryError", "lua_type", "lupa_lua"]
