"""`murano-sim run` inside a solution: the script runs in the solution's VM, after its modules and init.lua."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..runtime import Runtime
from ..runtime.result import ScriptResult
from .solution_config import config_for

if TYPE_CHECKING:
    from .loader import Endpoint

# A folder holding any of these is a solution's root.
SOLUTION_FILES = ("murano.yaml", "Solutionfile.json")
SOLUTION_DIRS = ("endpoints", "routes", "modules", "services")


def is_solution_root(folder: Path) -> bool:
    if any((folder / name).is_file() for name in SOLUTION_FILES):
        return True
    if any((folder / name).is_dir() for name in SOLUTION_DIRS):
        return True
    return any(p.is_file() for p in folder.glob("*.murano"))


def enclosing_solution(start: Path) -> Path | None:
    """The nearest folder from `start` upwards that is a solution root; the walk stops at a
    repository's root (a folder with .git), so a script never lands in an unrelated solution."""
    folder = start.resolve()
    while True:
        if is_solution_root(folder):
            return folder
        if (folder / ".git").exists() or folder.parent == folder:
            return None
        folder = folder.parent


def run_script(
    source: str,
    script: Path | None,
    request: Mapping[str, Any] | None,
    *,
    config: str | None = None,
    solution: str | None = None,
    endpoint: str | None = None,
) -> ScriptResult:
    """Run a script (None: it came from stdin) alone, or inside its solution when there is one."""
    root = Path(solution) if solution else enclosing_solution(script.parent if script else Path.cwd())
    name = script.name if script else "stdin.lua"
    if root is None:
        if endpoint:
            raise UsageError("--endpoint needs a solution: pass --solution DIR or run a script inside one")
        with Runtime(config) as runtime:
            return runtime.run(source, request, name=name)
    from .hotvm import SolutionVM  # a script alone needs neither the solution's loader nor its VM
    from .loader import load_solution

    loaded = load_solution(root)
    chosen = _endpoint_of(loaded.endpoints, root, script, endpoint)
    full_request = dict(request or {})
    if chosen is not None:
        source, name = chosen.source, chosen.file
        full_request = {"method": chosen.method, "route": chosen.path, **full_request}
    elif script is not None:
        name = _relative(script, root)
    with Runtime(config_for(root, config)) as runtime:
        vm = SolutionVM(runtime, loaded, notify=lambda line: print(f"murano-sim: {line}", file=sys.stderr))
        return vm.run_script(source, name, full_request)


def _relative(script: Path, root: Path) -> str:
    try:
        return script.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return script.name


def _endpoint_of(endpoints: list[Endpoint], root: Path, script: Path | None, wanted: str | None) -> Endpoint | None:
    """The endpoint section to run: the one --endpoint names, or the file's only one."""
    if script is None:
        if wanted:
            raise UsageError("--endpoint picks a section of a script file, not of stdin")
        return None
    rel = _relative(script, root)
    sections = [e for e in endpoints if e.file == rel]
    if wanted is None:
        if len(sections) > 1:
            listed = ", ".join(f'"{e.method} {e.path}"' for e in sections)
            raise UsageError(f"{rel} holds {len(sections)} endpoints; pick one with --endpoint ({listed})")
        return sections[0] if sections else None
    method, _, path = wanted.strip().partition(" ")
    for section in sections:
        if section.method == method.upper() and section.path == path.strip():
            return section
    known = ", ".join(f'"{e.method} {e.path}"' for e in sections) or "none"
    raise UsageError(f"{rel}: no endpoint {wanted!r} (endpoints of this file: {known})")
