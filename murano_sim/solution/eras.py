"""What older Murano did with a solution's modules, by era (config/era.py; docs/solutions.md, "Modules by era").

- 2016 (Solutionfile.json): modules were joined into each script, so a module's top-level locals
  were in scope in every endpoint and handler. Here a module without a top-level `return` runs at VM
  load as before, and then hands its top-level locals to the environment (`_G.name = name` on a line
  after its last), so scripts see them and the module's own functions still close over its locals.
- 2016-2017 (Solutionfile, MuranoCLI): a module's name was a global table visible from all scripts
  (`GWE.Fields = ...` in modules/GWE.lua with nothing defining GWE). Here that global is made an empty
  table before the module runs, unless it exists, on the module's first line (line numbers stay).
- Later: modules are plain Lua modules, loaded with `require`; nothing is added.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..config.era import MURANOCLI_ERA, SOLUTIONFILE_ERA
from .luascan import top_level_locals

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = frozenset({"_G", "_ENV"})


def module_chunk(file: str, source: str, name: str | None, era: int) -> tuple[str, str]:
    """(file, source) of a global module as the era ran it; unchanged from 2018 on."""
    if era > MURANOCLI_ERA:
        return file, source
    if name is not None and _NAME.fullmatch(name) and name not in _RESERVED:
        source = f"if {name} == nil then {name} = {{}} end " + source  # same line: line numbers stay
    if era <= SOLUTIONFILE_ERA:
        names = [n for n in top_level_locals(source) if n not in _RESERVED]
        if names:
            source += "\n" + " ".join(f"_G.{n} = {n};" for n in names)
    return file, source


def module_names(modules: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """file -> the module's plain name (`GWE` for modules/GWE.lua; not its `modules.`-prefixed alias)."""
    names: dict[str, str] = {}
    for name, (file, _) in modules.items():
        if not name.startswith("modules.") or file not in names:
            names[file] = name
    return names
