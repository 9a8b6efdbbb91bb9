"""Case files' service data: what a case seeds (a service's seed keys: `keystore`, `tsdb`, `users`,
`devices`, ...), how far it moves the clock (`advance`), and what it expects the services to hold
afterwards (their expect keys under `expect:`: `keystore`, `tsdb`, `outbox`, ...).

The keys come from the services' plugins (`case_keys`) and their controls: a control checks its
section at collection (`check_case`), seeds it (`seed`) and checks an expectation (`expect`), so a
case sets up and reads exactly what the matching fixture would.

A control may instead keep its case data itself (a phone network's faults, outcomes and caller):
its class's `check_case_settings(where, settings) -> {key: data}` and `check_case_expect(where,
expect)` check its keys at collection (the plugin's `case_keys`, `expect.<key>` for those under
`expect:`), the data goes to `Case.service_settings`, and collect.py runs it through the control's
`case_uses(case)` and `case_run(case)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from ..services.control import CaseDataError, Mismatch
from ..services.plugin import discover, load_attribute

if TYPE_CHECKING:
    from .runner import ScriptRunner

__all__ = ["EXPECT_SERVICE_KEYS", "OWN_EXPECT_KEYS", "OWN_SETTING_KEYS", "SEED_KEYS", "CaseDataError",
           "check_advance", "check_expected_services", "check_own_expect", "check_own_settings", "check_seeds",
           "check_services", "case_users", "seed"]


@cache
def _case_controls() -> tuple[tuple[str, str, Any], ...]:
    """(case key, service alias, control class) for every service's case key, in seeding order."""
    found: list[tuple[str, str, Any]] = []
    for plugin in discover():
        if not plugin.case_keys or not plugin.control:
            continue
        control = load_attribute(plugin.control)
        answered = (*getattr(control, "seed_keys", ()), *getattr(control, "expect_keys", ()))
        found.extend((key, plugin.alias, control) for key in plugin.case_keys if key in answered)
    return tuple(sorted(found, key=lambda entry: getattr(entry[2], "seed_order", 0)))


@cache
def _own_case_controls() -> tuple[tuple[Any, tuple[str, ...], tuple[str, ...]], ...]:
    """(control class, setting keys, expect keys) of every control that keeps its case data itself."""
    found = []
    for plugin in discover():
        control = load_attribute(plugin.control) if plugin.control else None
        if control is None or not hasattr(control, "check_case_settings"):
            continue
        expects = tuple(key.removeprefix("expect.") for key in plugin.case_keys if key.startswith("expect."))
        found.append((control, tuple(key for key in plugin.case_keys if not key.startswith("expect.")), expects))
    return tuple(found)


@cache
def case_users() -> tuple[tuple[str, Any], ...]:
    """(alias, case_uses) of every service whose control runs its own case data (looked up once per process:
    every case asks)."""
    found = []
    for plugin in discover():
        uses = getattr(load_attribute(plugin.control), "case_uses", None) if plugin.control else None
        if uses is not None:
            found.append((plugin.alias, uses))
    return tuple(found)


def _keys(kind: str) -> tuple[str, ...]:
    return tuple(key for key, _, control in _case_controls() if key in getattr(control, kind, ()))


SEED_KEYS = _keys("seed_keys")
EXPECT_SERVICE_KEYS = _keys("expect_keys")
OWN_SETTING_KEYS = tuple(key for _, keys, _ in _own_case_controls() for key in keys)
OWN_EXPECT_KEYS = tuple(key for _, _, keys in _own_case_controls() for key in keys)


# -- checking a case file's sections (at collection) ---------------------------------------------
def check_seeds(where: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The seed sections of a case (after file defaults), checked; CaseDataError names the problem."""
    seeds: dict[str, Any] = {}
    for key, _, control in _case_controls():
        if key in control.seed_keys and settings.get(key) is not None:
            control.check_case(key, f"{where}: {key}", settings[key], expect=False)
            seeds[key] = settings[key]
    return seeds


def check_own_settings(where: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The sections of the controls that keep their case data, checked (CaseDataError or the service's own
    UsageError names the problem): key -> the data the control's case run reads."""
    found: dict[str, Any] = {}
    for control, keys, _ in _own_case_controls():
        found.update(control.check_case_settings(where, {key: settings.get(key) for key in keys}))
    return found


def check_own_expect(where: str, expect: Mapping[str, Any]) -> None:
    for control, _, _ in _own_case_controls():
        control.check_case_expect(where, expect)


def check_advance(where: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise CaseDataError(f"{where}: advance must be a number of seconds (0 or more)")
    return float(value)


def check_expected_services(where: str, expect: Mapping[str, Any]) -> None:
    for key, _, control in _case_controls():
        if key in control.expect_keys and key in expect:
            control.check_case(key, f"{where}: expect.{key}", expect[key], expect=True)


# -- running ---------------------------------------------------------------------------------------
def seed(runner: ScriptRunner, seeds: Mapping[str, Any]) -> None:
    """Every seed section through its service's control, devices last (their events reach a served
    solution's handlers). A refused setup call raises FixtureError."""
    for key, alias, _ in _case_controls():
        if key in seeds:
            runner.runtime.platform.control(alias).seed(seeds[key])


def check_services(runner: ScriptRunner, expect: Mapping[str, Any]) -> list[Mismatch]:
    """Every `expect` service section that the services' data does not meet."""
    found: list[Mismatch] = []
    for key, alias, kind in _case_controls():
        if key in kind.expect_keys and key in expect:
            control: Any = runner.runtime.platform.control(alias)  # a case key's control: a ServiceControl
            found.extend(control.expect(key, expect[key]))
    return found
