"""The Lua engine in use: LuaJIT 2.1 (Murano's VM), or plain Lua 5.1 when MURANO_SIM_LUA=lua51.

lupa's macOS wheels ship no LuaJIT; there murano-sim falls back to Lua 5.1 and one line on stderr
says so at start (never silently). A user who sets MURANO_SIM_LUA=lua51 chose it and gets no warning;
MURANO_SIM_LUA=luajit where there is none is an error, not a fallback. Where the two engines differ,
the sandbox behaves the same or refuses with the reason (README: Portability).
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import NoReturn

ENGINE_ENV = "MURANO_SIM_LUA"
ENGINES = ("luajit", "lua51")


def _select() -> tuple[ModuleType, str]:
    chosen = os.environ.get(ENGINE_ENV, "").strip().lower()
    if chosen not in ("", *ENGINES):
        # At import, before any command can catch an error: one line and the usage exit code.
        _usage_error(f"{ENGINE_ENV}={chosen!r} is not a Lua engine; use luajit or lua51")
    if chosen != "lua51":
        try:
            luajit21 = _import_own_symbols("luajit21")
            return luajit21, "luajit"
        except ImportError:  # macOS wheels: no LuaJIT
            if chosen == "luajit":
                _usage_error(f"{ENGINE_ENV}=luajit, but this lupa wheel has no LuaJIT; unset it to run plain "
                             "Lua 5.1 (see the README's Portability section)")
            print("murano-sim: warning: running plain Lua 5.1, not LuaJIT as Murano does (this lupa wheel has no "
                  f"LuaJIT; {ENGINE_ENV}=lua51 says you know); see the README's Portability section",
                  file=sys.stderr)
    from lupa import lua51

    return lua51, "lua51"


def _import_own_symbols(name: str) -> ModuleType:
    """Import lupa's `name` module bound to the Lua inside it.

    Each lupa module carries its own Lua and exports the same C names (lua_pcall, ...). A module
    loaded before with RTLD_GLOBAL (fakeredis loads lupa.lua51 so, for EVAL) would otherwise lend
    its functions to the next one: lupa.luajit21 then ran Lua 5.1's interpreter, 2-3x slower and
    without `jit`. RTLD_DEEPBIND (glibc) makes the module look in itself first."""
    deepbind = getattr(os, "RTLD_DEEPBIND", 0)
    flags = sys.getdlopenflags()
    if deepbind:
        sys.setdlopenflags(flags | deepbind)
    try:
        return importlib.import_module(f"lupa.{name}")
    finally:
        sys.setdlopenflags(flags)


def _usage_error(message: str) -> NoReturn:
    print(f"murano-sim: {message}", file=sys.stderr)
    raise SystemExit(2)


lupa_lua, ENGINE = _select()
IS_LUAJIT = ENGINE == "luajit"

LuaError = lupa_lua.LuaError
LuaMemoryError = lupa_lua.LuaMemoryError
lua_type = lupa_lua.lua_type

__all__ = ["ENGINE", "ENGINE_ENV", "IS_LUAJIT", "LuaError", "LuaMemoryError", "lua_type", "lupa_lua"]
