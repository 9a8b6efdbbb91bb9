"""A test's world: a Runtime bound to a fresh local emulator whose clock only moves when told to."""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Config, load_config, merge

if TYPE_CHECKING:  # the runtime is imported when first used: pytest-xdist's controller never needs it
    from ..runtime import Runtime

ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | Config | None

# Replaying a cassette needs no secret: a token of the right shape stands in for a missing one.
REPLAY_AUTH_TOKEN = "0" * 32


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
    twilio = data["services"]["twilio"]
    if twilio.get("backend") == "live":
        # The emulator's demonstration credentials must not follow a switch to live: drop them so
        # TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (or a clear "missing" error) apply instead.
        for key, demo in (("AccountSid", DEMO_ACCOUNT_SID), ("AuthToken", DEMO_AUTH_TOKEN)):
            if twilio.get(key) == demo:
                twilio.pop(key)
    merged = load_config(data)
    return dataclasses.replace(merged, source=f"{base.source} + overrides", base_dir=base_dir or base.base_dir)


def config_overrides(
    *,
    config: Mapping[str, Any] | None = None,
    env: Mapping[str, Any] | None = None,
    limits: Mapping[str, Any] | None = None,
    seed: Any = None,
) -> dict[str, Any]:
    """The override mapping for the usual knobs: solution env, Lua limits, an emulator seed."""
    out: dict[str, Any] = copy.deepcopy(dict(config or {}))
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
    """A Runtime whose local emulator (if any) uses a ManualClock, so `advance` is deterministic.

    lua_controls: scripts also get the emulator's controls (for *_test.lua; see lua_controls.py).
    host_services: more services for the runtime (a linked product's operations: solution/link.py).
    """
    from ..runtime import Runtime

    if config.services["twilio"]["backend"] != "local":
        return Runtime(config, host_services=host_services)
    from ..services.twilio import Emulator, ManualClock
    from ..services.twilio.lua_controls import EmulatorControls

    emulator = Emulator(config, clock=clock or ManualClock())
    try:
        controls = [EmulatorControls(emulator)] if lua_controls else []
        return Runtime(config, emulator=emulator, host_services=[*controls, *host_services])
    except BaseException:
        emulator.close()
        raise


def for_replay(config: Config) -> Config:
    """Live config for replaying a cassette: a stand-in AuthToken when none is configured."""
    twilio = config.services["twilio"]
    if twilio["backend"] != "live" or twilio.get("AuthToken"):
        return config
    data = copy.deepcopy(config.data)
    data["services"]["twilio"]["AuthToken"] = REPLAY_AUTH_TOKEN
    return dataclasses.replace(config, data=data)

