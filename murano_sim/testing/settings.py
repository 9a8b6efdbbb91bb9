"""Per-session plugin state: options, the base configuration, the snapshot tally."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..config import Config
from .testbed import base_config, open_testbed

if TYPE_CHECKING:  # the runtime is imported when first used: pytest-xdist's controller never needs it
    from ..runtime import Runtime


@dataclass
class Settings:
    """What every murano-sim test item of one session (one xdist worker) shares."""

    rootpath: Path
    config_path: Path | None = None
    snapshot_update: bool = False
    snapshots_written: list[Path] = field(default_factory=list)
    snapshots_unused: list[Path] = field(default_factory=list)
    _base: Config | None = None
    _discovery: Runtime | None = None

    def base(self) -> Config:
        """The session's base configuration: --murano-config / ini murano_config, else built-in defaults."""
        if self._base is None:
            self._base = base_config(self.config_path)
        return self._base

    def discovery_runtime(self) -> Runtime:
        """One runtime (own emulator) for listing the tests of *_test.lua files at collection."""
        if self._discovery is None:
            self._discovery = open_testbed(self.base(), lua_controls=True)
        return self._discovery

    def close(self) -> None:
        if self._discovery is not None:
            self._discovery.close()
            self._discovery = None


SETTINGS_KEY = pytest.StashKey[Settings]()


def settings_of(config: pytest.Config) -> Settings:
    return config.stash[SETTINGS_KEY]


def display_name(path: Path, rootpath: Path) -> str:
    """A Lua chunk name for error positions: the root-relative path, or the file name if too long."""
    try:
        name = path.relative_to(rootpath).as_posix()
    except ValueError:
        name = path.name
    return name if len(name) <= 59 else path.name  # Lua keeps at most 59 characters of a chunk name
