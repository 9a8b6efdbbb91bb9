"""Which globals a solution's Lua sees: asked of a real sandbox, from the services' specs, and found in the solution.

Asking the sandbox (not a list kept here) means a global the runtime adds or drops shows in the
editor files at the next `murano-sim stubs`, as a service's operations do from its spec.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..config.era import MURANOCLI_ERA, SOLUTIONFILE_ERA
from ..lua.engine import lupa_lua
from ..lua.handlers import function_name
from ..runtime import Runtime
from ..services.registry import event_arguments
from ..solution import luascan
from ..solution.eras import module_names
from ..solution.model import Solution
from ..testing.collect import HELPERS_SOURCE

# Globals set per execution (endpoint scripts and handlers), not present in a bare sandbox run.
EXECUTION_GLOBALS = ("request", "response", "context")

_LIST_GLOBALS = """
local found = {}
for name, value in pairs(_G) do
  if type(name) == "string" then
    local fields = {}
    if type(value) == "table" and name ~= "_G" then
      for key in pairs(value) do
        if type(key) == "string" then fields[#fields + 1] = key .. ":" .. type(value[key]) end
      end
      table.sort(fields)
    end
    found[name] = { kind = type(value), fields = fields }
  end
end
response.message = to_json(found)
"""


@dataclass(frozen=True)
class LuaGlobal:
    name: str
    kind: str  # Lua's type(): table, function, string
    fields: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()  # the fields that hold tables (json.null, murano.services), not functions


@dataclass(frozen=True)
class Globals:
    platform: dict[str, LuaGlobal]  # what every script's environment holds (services included)
    execution: tuple[str, ...]  # request, response, context and every handler argument name
    # a plain Lua's globals and their fields: the editor knows these, the definitions add the rest
    standard: dict[str, frozenset[str]] = field(default_factory=dict)
    solution: tuple[str, ...] = field(default=())  # globals the solution's own files define
    # fields the solution adds to platform tables (`function table.contains(...)` in a 2017 module)
    extended: tuple[tuple[str, str], ...] = field(default=())
    tests: tuple[str, ...] = field(default=())  # what `*_test.lua` files see besides (murano-sim's helpers)


def sandbox_globals() -> dict[str, LuaGlobal]:
    """Every global of a fresh script environment, with the string keys of the tables among them."""
    result = Runtime().run(_LIST_GLOBALS, name="murano-sim-stubs.lua")
    if result.error is not None:  # our own sandbox failed to list itself: a defect, not the user's input
        raise RuntimeError(f"listing the sandbox's globals failed: {result.error}")
    found = json.loads(str(result.response.message))
    return {
        name: LuaGlobal(name, str(value["kind"]), tuple(f.partition(":")[0] for f in value["fields"] or ()),
                        tuple(f.partition(":")[0] for f in value["fields"] or () if f.endswith(":table")))
        for name, value in sorted(found.items()) if name not in EXECUTION_GLOBALS
    }


def standard_globals() -> dict[str, frozenset[str]]:
    """A plain Lua's globals (what LuaLS already knows), each with its table's string keys."""
    lua = lupa_lua.LuaRuntime()
    listed = lua.eval("""function()
      local found = {}
      for name, value in pairs(_G) do
        local fields = {}
        if type(value) == "table" and name ~= "_G" then
          for key in pairs(value) do if type(key) == "string" then fields[#fields + 1] = key end end
        end
        found[name] = table.concat(fields, " ")
      end
      return found
    end""")()
    return {str(name): frozenset(str(fields).split()) for name, fields in listed.items()}


def handler_arguments() -> tuple[str, ...]:
    """Every name an event handler's argument goes by (the specs' `events:`; `operation event` is two)."""
    names = {name for events in event_arguments().values() for value in events.values() for name in value.split()}
    return tuple(sorted(names | {"event"}))


def solution_globals(solution: Solution) -> tuple[str, ...]:
    """Globals the solution defines for its other files: module names and 2016 module locals by era,
    and names its files assign or define as functions at their top level."""
    found: set[str] = set()
    names = module_names(solution.modules)
    for file, source in solution.global_modules:
        if solution.era <= MURANOCLI_ERA and file in names:
            found.add(names[file].split(".")[0])
        if solution.era <= SOLUTIONFILE_ERA:
            found.update(luascan.top_level_locals(source))
    for source in solution_sources(solution):
        found.update(assigned_globals(source))
    # The hot VM defines each handler as a global function, which modules call (real-c2c-weather-2020).
    found.update(function_name(h.service, h.event) for h in solution.handlers.values())
    return tuple(sorted(found))


def solution_sources(solution: Solution) -> list[str]:
    sources = [source for _, source in solution.global_modules]
    sources += [source for _, source in solution.modules.values()]
    sources += [script.source for script in (*solution.endpoints, *solution.handlers.values())]
    return sources + ([solution.init_script[1]] if solution.init_script else [])


def extended_fields(sources: list[str], tables: set[str]) -> tuple[tuple[str, str], ...]:
    """(table, field) for each `function table.field(` or `table.field =` on a platform table."""
    found: set[tuple[str, str]] = set()
    for source in sources:
        toks = list(luascan.tokens(source))
        for i in range(len(toks) - 3):
            name, dot, member, after = toks[i:i + 4]
            if name.text in tables and dot.text == "." and member.kind == "name" and (
                    after.text == "=" or (i > 0 and toks[i - 1].text == "function")):
                found.add((name.text, member.text))
    return tuple(sorted(found))


def test_helpers() -> tuple[str, ...]:
    """The globals murano-sim's Lua test helpers define for `*_test.lua` files."""
    return tuple(sorted(assigned_globals(HELPERS_SOURCE)))


def assigned_globals(source: str) -> set[str]:
    """Names a chunk assigns at its top level (`name = ...`, `a, b = ...`) or defines as
    `function name(...)` anywhere, without declaring them local in the chunk."""
    toks = list(luascan.tokens(source))
    declared = set(luascan.top_level_locals(source))
    found: set[str] = set()
    depth = brackets = 0  # blocks; (), {} and [] (a table constructor's `key = value` is no assignment)
    for i, token in enumerate(toks):
        if token.kind == "op":
            brackets += (token.text in "({[") - (token.text in ")}]")
        if token.kind != "name":
            continue
        before = toks[i - 1].text if i > 0 else ""
        after = toks[i + 1].text if i + 1 < len(toks) else ""
        if token.text in ("function", "do", "if", "repeat"):
            if token.text == "function" and before != "local" and after.isidentifier() and i + 1 < len(toks):
                target = toks[i + 1]
                if target.kind == "name" and target.text not in declared:
                    found.add(target.text)
            depth += 1
        elif token.text in ("end", "until"):
            depth -= 1
        elif depth == 0 and brackets == 0 and before not in (".", ":", "local", ",") and after in ("=", ","):
            # `a, b = ...`: walk the names up to `=`
            j, names = i, []
            while j < len(toks) and toks[j].kind == "name":
                names.append(toks[j].text)
                if j + 1 < len(toks) and toks[j + 1].text == ",":
                    j += 2
                    continue
                break
            if j + 1 < len(toks) and toks[j + 1].text == "=" and toks[j + 1].kind == "op":
                found.update(n for n in names if n not in declared)
    return found
