"""Consent to what a repository's config.yaml may reach: the developer's environment, and hosts
beyond loopback (DECISIONS.md, "Trust in a repository").

A cloned solution is untrusted like its Lua. The consent comes from outside the repository:
`--trust`, MURANO_SIM_TRUST=1 (CI), a trust record (`murano-sim trust DIR`, kept in the user's data
directory with a hash of the file, as `direnv allow` keeps it), or the user's own config file
listing variables and hosts that are always allowed. Only the CLI installs a Consent: the library
API and the pytest plugin are the developer's own Python, and pytest runs the repository's Python
anyway, so without an installed Consent everything is trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError
from . import yamlfile

TRUST_ENV = "MURANO_SIM_TRUST"
HOW_TO_ALLOW = f"to allow it: murano-sim trust DIR, or --trust, or {TRUST_ENV}=1 (docs/configuration.md, Trust)"
_USER_KEYS = ("allow_env", "allow_hosts")


@dataclass
class Consent:
    """What the developer agreed to for this run. `everything`: --trust or MURANO_SIM_TRUST."""

    everything: bool = False
    variables: frozenset[str] = frozenset()  # from the user's own config file
    hosts: frozenset[str] = frozenset()
    _reported: set[str] = field(default_factory=set)

    def trusts(self, path: Path, text: str) -> bool:
        """Whether the config file at path, with this text, may use everything it asks for."""
        return self.everything or recorded_hash(path) == _digest(text)

    def report(self, line: str) -> None:
        """One line on stderr, once per run (serve may read a file more than once)."""
        if line not in self._reported:
            self._reported.add(line)
            print(f"murano-sim: {line}", file=sys.stderr, flush=True)


_active: Consent | None = None


def active() -> Consent | None:
    """The CLI's Consent, or None: programmatic use, which is trusted."""
    return _active


@contextmanager
def consent_scope(consent: Consent) -> Iterator[Consent]:
    global _active
    previous, _active = _active, consent
    try:
        yield consent
    finally:
        _active = previous


def cli_consent(flag: bool, environ: Any = None) -> Consent:
    """The consent of a command-line run: --trust, MURANO_SIM_TRUST, and the user's own file."""
    environ = os.environ if environ is None else environ
    everything = flag or str(environ.get(TRUST_ENV, "")).strip().lower() in ("1", "true", "yes")
    variables, hosts = _user_lists(environ)
    return Consent(everything=everything, variables=variables, hosts=hosts)


def user_config_path(environ: Any = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "murano-sim" / "config.yaml"


def data_dir(environ: Any = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "murano-sim"


def _user_lists(environ: Any) -> tuple[frozenset[str], frozenset[str]]:
    path = user_config_path(environ)
    if not path.is_file():
        return frozenset(), frozenset()
    doc = yamlfile.load(path, what="user config file") or {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: must be a mapping with {' and/or '.join(_USER_KEYS)}")
    for key, value in doc.items():
        if key not in _USER_KEYS:
            raise ConfigError(f"{path}: {key}: unknown key (known: {', '.join(_USER_KEYS)})")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: {key}: must be a list of names")
    return frozenset(doc.get("allow_env") or ()), frozenset(h.lower() for h in doc.get("allow_hosts") or ())


# -- trust records ----------------------------------------------------------------------------------
def _records_path() -> Path:
    return data_dir() / "trusted.json"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_records() -> dict[str, str]:
    path = _records_path()
    if not path.is_file():
        return {}
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the trust records ({exc}); remove the file to start again") from None
    return {str(k): str(v) for k, v in records.items()} if isinstance(records, dict) else {}


def _write_records(records: dict[str, str]) -> None:
    path = _records_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".trusted.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(records, out, indent=2, sort_keys=True)
    os.replace(temporary, path)  # atomic: a reader sees the old records or the new ones


def config_file_of(target: str | Path) -> Path:
    """DIR -> DIR/config.yaml; a file is itself. Resolved, so that records do not depend on the cwd."""
    path = Path(target)
    path = path / "config.yaml" if path.is_dir() else path
    if not path.is_file():
        raise UsageError(f"{path}: no such config file to trust")
    return path.resolve()


def recorded_hash(path: Path) -> str | None:
    return _read_records().get(str(path.resolve()))


def record(target: str | Path) -> Path:
    """Trust the config file as it is now; any change to it needs `murano-sim trust` again."""
    path = config_file_of(target)
    text = yamlfile.read_text(path, what="config file")
    records = _read_records()
    records[str(path)] = _digest(text)
    _write_records(records)
    return path


def revoke(target: str | Path) -> tuple[Path, bool]:
    """Forget a record; (the file, whether there was one)."""
    path = Path(target)
    path = (path / "config.yaml" if path.is_dir() else path).resolve()
    records = _read_records()
    had = records.pop(str(path), None) is not None
    if had:
        _write_records(records)
    return path, had
