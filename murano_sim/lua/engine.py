"""The lupa module in use: LuaJIT 2.1 (Murano's VM), or Lua 5.1 where the wheel lacks LuaJIT."""

import sys

try:
    from lupa import luajit21 as lupa_lua
except ImportError:  # pragma: no cover - depends on the platform's wheel
    from lupa import lua51 as lupa_lua

    print("murano-sim: warning: this lupa wheel has no LuaJIT; using Lua 5.1 (no goto)", file=sys.stderr)

LuaError = lupa_lua.LuaError
LuaMemoryError = lupa_lua.LuaMemoryError
lua_type = lupa_lua.lua_type

__all__ = ["LuaError", "LuaMemoryError", "lua_type", "lupa_lua"]
