"""Response snapshots: one JSON file per case beside the case file, with volatile values normalised."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from ..runtime.result import ScriptResult

# Record SIDs a local backend makes up afresh each run (an Account SID comes from config: kept).
_SID = re.compile(r"\b(SM|MM|CA|ME|PN|MG|RE|CF|QU|NO)[0-9a-fA-F]{32}\b")
# RFC 2822 dates as REST APIs write them ("Fri, 27 Nov 2026 03:10:10 +0000").
_DATE = re.compile(r"\b[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\b")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def snapshot_of(result: ScriptResult) -> dict[str, Any]:
    """What a snapshot records: the response, the service calls (no timings) and the error."""
    data = {
        "response": {
            "code": result.response.code,
            "headers": dict(sorted(result.response.headers.items())),
            "message": result.response.message,
        },
        "calls": [
            {"operation": c.get("operation"), "arguments": c.get("arguments"), "status": c.get("status")}
            for c in result.calls
        ],
        "error": result.error,
    }
    return normalise(data)


def normalise(value: Any) -> Any:
    """The same value with each generated SID numbered by first appearance (<SM1>) and dates as <date>."""
    numbers: dict[str, str] = {}

    def sid(match: re.Match[str]) -> str:
        if match.group(0) not in numbers:
            prefix = match.group(1)
            count = sum(1 for v in numbers.values() if v.startswith(f"<{prefix}"))
            numbers[match.group(0)] = f"<{prefix}{count + 1}>"
        return numbers[match.group(0)]

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return _DATE.sub("<date>", _SID.sub(sid, node))
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(value)


def _stem(test_file: Path) -> str:
    """The file name without .murano.yaml / .murano.yml / .py."""
    name = test_file.name
    for suffix in (".murano.yaml", ".murano.yml", ".py"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def snapshot_dir(test_file: Path) -> Path:
    """<dir>/<stem>.snapshots: where a case file's (or a Python test file's) snapshots live."""
    return test_file.parent / f"{_stem(test_file)}.snapshots"


def snapshot_path(case_file: Path, case_name: str) -> Path:
    """<dir>/<stem>.snapshots/<case name, file-safe>.json"""
    slug = _UNSAFE.sub("_", case_name).strip("_") or "case"
    return snapshot_dir(case_file) / f"{slug}.json"


def unused_snapshots(case_file: Path, snapshotted: list[str]) -> list[Path]:
    """Snapshot files beside a case file that none of its `snapshot: true` cases uses (renamed or
    removed cases). None when a Python test file of the same stem shares the folder: its
    snapshots are named after its tests, which a case file cannot know."""
    if not case_file.name.endswith((".murano.yaml", ".murano.yml")):
        return []
    folder = snapshot_dir(case_file)
    if not folder.is_dir() or (case_file.parent / f"{_stem(case_file)}.py").exists():
        return []
    used = {snapshot_path(case_file, name) for name in snapshotted}
    return sorted(p for p in folder.glob("*.json") if p not in used)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def read_snapshot(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_snapshot(path: Path, data: Any) -> bool:
    """Write atomically (parallel workers may write neighbours); False when it was already current."""
    text = dumps(data)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
