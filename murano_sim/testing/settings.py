"""Per-session plugin state: options, the base configuration, the snapshot tally."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..config import Config
from ..errors import UsageError
from .pool import RuntimePool
from .testbed import base_config, live_sections, open_testbed

if TYPE_CHECKING:  # the runtime is imported when first used: pytest-xdist's controller never needs it
    from ..runtime import Runtime


CONFIG_NAME = "config.yaml"


@dataclass
class Settings:
    """What every murano-sim test item of one session (one xdist worker) shares."""

    rootpath: Path
    config_path: Path | None = None
    live_allowed: bool = False
    snapshot_update: bool = False
    snapshots_written: list[Path] = field(default_factory=list)
    snapshots_unused: list[Path] = field(default_factory=list)
    _configs: dict[Path | None, Config] = field(default_factory=dict)
    _nearest: dict[Path, Path | None] = field(default_factory=dict)  # test file -> its config.yaml
    _discovery: dict[Path | None, Runtime] = field(default_factory=dict)
    pool: RuntimePool = field(default_factory=RuntimePool)  # test runtimes, reused and reset per test

    def base(self, test_file: Path | None = None) -> Config:
        """The base configuration of a test file: --murano-config / ini murano_config when given,
        else the nearest config.yaml from the file's folder up to the rootdir, else built-in defaults.

        A live backend found by that walk is refused unless --murano-live: a test never reaches
        a live service because a developer's config.yaml happened to be nearby."""
        path = self.config_path or (self.nearest_config(test_file) if test_file is not None else None)
        config = self._configs.get(path)
        if config is None:
            config = self._configs[path] = base_config(path)
            if self.config_path is None and path is not None and not self.live_allowed:
                refuse_live(config)
        return config

    def nearest_config(self, test_file: Path) -> Path | None:
        if test_file not in self._nearest:  # every test of a file asks: no Path made per test
            self._nearest[test_file] = self._find_config(Path(test_file).parent)
        return self._nearest[test_file]

    def _find_config(self, folder: Path) -> Path | None:
        folder, root = folder.resolve(), self.rootpath.resolve()
        while True:
            candidate = folder / CONFIG_NAME
            if candidate.is_file():
                return candidate
            if folder == root or root not in folder.parents:
                return None
            folder = folder.parent

    def discovery_runtime(self, test_file: Path | None = None) -> Runtime:
        """One runtime per base config (own emulator) for listing the tests of *_test.lua files."""
        config = self.base(test_file)
        key = self.config_path or (self.nearest_config(test_file) if test_file is not None else None)
        if key not in self._discovery:
            self._discovery[key] = open_testbed(config, lua_controls=True)
        return self._discovery[key]

    def test_runtime(self, config: Config, *, lua_controls: bool = False) -> AbstractContextManager[Runtime]:
        """The runtime of one test: a pooled one put back to its seed (local emulator), else a new one
        closed when the test ends."""
        if self.pool.reusable(config):
            return nullcontext(self.pool.acquire(config, lua_controls=lua_controls))
        return open_testbed(config, lua_controls=lua_controls)

    def close(self) -> None:
        self.pool.close()
        for runtime in self._discovery.values():
            runtime.close()
        self._discovery.clear()


def refuse_live(config: Config) -> None:
    """A config found beside the tests whose http service has `backend: live` is refused without --murano-live."""
    live = live_sections(config, beyond_loopback=True)
    if live:
        raise UsageError(
            f"{config.source}: services.{live[0]}.backend is live; murano-sim tests found this config.yaml "
            "themselves and will not reach the real service: pass --murano-live, or name the config "
            "with --murano-config / the murano_config ini option"
        )


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
