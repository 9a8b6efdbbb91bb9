"""Where a running `serve` writes its URL, so that `murano-sim logs` in the solution's folder finds it.

One small JSON file per served solution, named by a hash of the solution's resolved path, in
$XDG_RUNTIME_DIR/murano-sim/serve/ (else <tempdir>/murano-sim-<uid>/serve/), private to the user.
serve writes it when it listens and removes it when it stops; a file whose process is gone is stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def serve_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR")
    root = Path(base) / "murano-sim" if base else Path(tempfile.gettempdir()) / f"murano-sim-{_uid()}"
    return root / "serve"


def _uid() -> str:
    return str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")


def record_path(solution_dir: str | os.PathLike[str]) -> Path:
    key = hashlib.sha256(str(Path(solution_dir).resolve()).encode()).hexdigest()[:24]
    return serve_dir() / f"{key}.json"


def write(solution_dir: str | os.PathLike[str], url: str) -> Path | None:
    """Record that this process serves `solution_dir` at `url`; None when the directory is not writable
    (serve goes on: `logs --url` still works)."""
    path = record_path(solution_dir)
    data = {"url": url, "pid": os.getpid(), "solution": str(Path(solution_dir).resolve())}
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(json.dumps(data), encoding="utf-8")
    except OSError:
        return None
    return path


def remove(solution_dir: str | os.PathLike[str]) -> None:
    """Forget this process's record (another serve's record of the same folder stays)."""
    path = record_path(solution_dir)
    found = _read(path)
    if found is not None and found.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def find(start: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The live serve of `start` or of the nearest folder above it that a serve runs; None if there is none."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        found = _read(record_path(folder))
        if found is not None and _alive(found.get("pid")):
            return found
    return None


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("url"), str) else None


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process under a reused id: the record is stale
        return False
    return True
