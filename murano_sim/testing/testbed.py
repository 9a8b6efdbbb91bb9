"""A test's world: a Runtime on a ManualClock (every service's local backend reads it), so time only
moves when told to."""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import Config, is_secret_key, merge
from ..config import load_config as load_with
from ..net.hosts import is_allowed_host
from ..runtime import Runtime
from ..services.settings import load_config
from ..state.clock import ManualClock
from .lua_controls import LuaControls

ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | Config | None

# Replaying a cassette needs no secret: a token of the right shape stands in for a missing one.
REPLAY_SECRET = "0" * 32


def base_config(source: ConfigSource, relative_to: Path | None = None) -> Config:
    """A Config from a path (relative to `relative_to`), dict, Config, or None (built-in defaults).

    None never reads ./config.yaml: a test suite must not depend on the directory it runs from,
    nor pick up a developer's live credentials by accident.
    """
    if source is None:
        return load_config({})
    if isinstance(source, (str, os.PathLike)) and relative_to is not None:
        source = relative_to / Path(source)
    return load_config(source)


def merge_config(base: Config, overrides: Mapping[str, Any], base_dir: Path | None = None) -> Config:
    """base with `overrides` merged in (nested mappings merge; other values replace), validated again."""
    if not overrides:
        return base
    data = merge(base.data, overrides)
    for service in base.known:
        section = data["services"].get(service.alias)
        if isinstance(section, dict) and section.get("backend") == "live":
            # Default credentials (a local backend's demonstration ones) must not follow a switch to
            # live: dropped, so the service's variables (or a clear "missing" error) apply instead.
            for key in service.env:
                if section.get(key) == service.defaults.get(key):
                    section.pop(key)
    merged = load_with(data, services=base.known)
    return dataclasses.replace(merged, source=f"{base.source} + overrides", base_dir=base_dir or base.base_dir)


def config_overrides(
    *,
    config: Mapping[str, Any] | None = None,
    env: Mapping[str, Any] | None = None,
    limits: Mapping[str, Any] | None = None,
    seed: Any = None,
) -> dict[str, Any]:
    """The override mapping for the usual knobs: solution env, Lua limits, an emulator seed."""
    out: dict[str, Any] = copy.deepcopy(dict(config)) if config else {}  # most cases have none: no deepcopy
    if env:
        out = merge(out, {"env": dict(env)})
    if limits:
        out = merge(out, {"lua": dict(limits)})
    if seed is not None:
        out.setdefault("emulator", {})
        out["emulator"] = {**out["emulator"], "seed": seed}
    return out


def open_testbed(
    config: Config, clock: Any = None, *, lua_controls: bool = False, host_services: Sequence[Any] = ()
) -> Runtime:
    """A Runtime on a ManualClock (each service's local backend uses it), so `advance` is deterministic.

    lua_controls: scripts also get every service's controls (for *_test.lua; see lua_controls.py).
    host_services: more services for the runtime (a linked product's operations: solution/link.py).
    """
    controls = LuaControls() if lua_controls else None
    runtime = Runtime(config, clock=clock or ManualClock(), host_services=[*filter(None, [controls]), *host_services])
    if controls is not None:
        controls.bind(service_controls(runtime))
    return runtime


def service_controls(runtime: Runtime) -> dict[str, Any]:
    """Every service's control in this runtime (alias -> Control), each moving the runtime's whole clock."""
    return runtime.services.controls()


def built_backend_controls(runtime: Runtime) -> dict[str, Any]:
    """The controls of the local backends built so far: the ones that can hold a defect (take_defects);
    asking every service for its control would build every model."""
    services = runtime.services
    return {alias: services.control(alias) for alias in services.backends.built_aliases()}


def local_control(runtime: Runtime, alias: str) -> Any | None:
    """One service's control, if it has one here (a local backend or model), without building the others'."""
    services = runtime.services
    if alias in services.backends or getattr(services.by_alias.get(alias), "model", None) is not None:
        return services.control(alias)
    return None


def for_replay(config: Config) -> Config:
    """A live config for replaying a cassette: a stand-in for each secret credential none configured
    (the recorded answers need none; a live check only wants its shape)."""
    data = copy.deepcopy(config.data)
    for service in config.known:
        section = data["services"].get(service.alias)
        if not isinstance(section, dict) or section.get("backend") != "live":
            continue
        for key in service.env:
            if is_secret_key(key) and not section.get(key):
                section[key] = REPLAY_SECRET
    return config if data == config.data else dataclasses.replace(config, data=data)


def live_sections(config: Config, *, beyond_loopback: bool = False) -> list[str]:
    """The services a config sends to their live API (`backend: live`); beyond_loopback: leaving out
    a live API served on this machine (a shared local emulator)."""
    return [alias for alias, section in config.services.items()
            if isinstance(section, dict) and section.get("backend") == "live"
            and not (beyond_loopback and is_allowed_host(str(section.get("base_url") or "")))]
