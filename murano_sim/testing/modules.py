"""A solution's Lua modules, found beside a test so that `require("modules.name")` works in it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

NOT_DEPLOYED = ("_test.lua", "_spec.lua")


_found: dict[tuple[Path, Path], Path | None] = {}


def find_modules_dir(start: Path, root: Path) -> Path | None:
    """The nearest `modules/` folder in `start` or a parent of it, not looking above `root`.

    Remembered per (start, root) for the process (every test of a file asks); a remembered
    folder that has gone is looked for again."""
    key = (start, root)
    if key in _found:
        known = _found[key]
        if known is None or known.is_dir():
            return known
    found = _found[key] = _walk(start, root)
    return found


def _walk(start: Path, root: Path) -> Path | None:
    folder = start.resolve()
    root = root.resolve()
    while True:
        candidate = folder / "modules"
        if candidate.is_dir():
            return candidate
        if folder == root or folder.parent == folder or root not in folder.parents:
            return None
        folder = folder.parent


@lru_cache(maxsize=64)
def _read_modules(modules_dir: Path, stamp: tuple[tuple[str, int], ...]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for file in sorted(modules_dir.rglob("*.lua")):
        if file.name.endswith(NOT_DEPLOYED):
            continue
        relative = file.relative_to(modules_dir).with_suffix("")
        name = "modules." + ".".join(relative.parts)
        chunk = "modules/" + file.relative_to(modules_dir).as_posix()
        found[name] = (chunk, file.read_text(encoding="utf-8"))
    return found


def solution_modules(start: Path, root: Path) -> dict[str, tuple[str, str]]:
    """{"modules.name": (chunk name, source)} for Runtime.run(modules=...); empty without a modules/ folder."""
    modules_dir = find_modules_dir(start, root)
    if modules_dir is None:
        return {}
    # Keyed on names and modification times: an edited module is read again.
    stamp = tuple((str(p), p.stat().st_mtime_ns) for p in sorted(modules_dir.rglob("*.lua")))
    return _read_modules(modules_dir, stamp)
