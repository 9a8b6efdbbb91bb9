"""`murano-sim init`: a new solution from the files in template/, which passes its own tests on the first run."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # 3.10: the same class, before it moved (importlib.abc's name is deprecated from 3.12)
    from importlib.abc import Traversable

from ..errors import UsageError

# Where a template folder lands in the solution (a dot folder does not ship well as package data).
_RENAMED = {"github": ".github/workflows"}


def _files(folder: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        relative = f"{prefix}{_RENAMED.get(entry.name, entry.name) if not prefix else entry.name}"
        found += _files(entry, relative + "/") if entry.is_dir() else [(relative, entry)]
    return found


def create_solution(root: Path) -> list[Path]:
    """Copy the template into root, which must be absent or empty (else a one-line UsageError)."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UsageError(f"{root}: not an empty directory; init makes a new solution in an empty or new one")
    written = []
    for relative, entry in _files(resources.files(__package__).joinpath("template")):
        path = root / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(entry.read_bytes())
        except OSError as exc:
            raise UsageError(f"{path}: cannot write ({exc.strerror or exc})") from None
        written.append(path)
    return written
