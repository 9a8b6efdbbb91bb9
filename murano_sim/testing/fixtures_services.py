"""One pytest fixture per name in the services' plugins (`fixtures=`): each is the service's
control's `fixture()` on the `murano` runtime (`keystore`, `tsdb`, `users`, `outbox`, `devices`,
`timers`, `murano_services_config`, a phone service's control, ... whatever the installed services declare).

A fixture object may say what fails its test at teardown: its `problems()` (a list of one-line
texts, e.g. faults set but never used) fails the test with them, named by the fixture. Its
`close()`, when it has one, runs at teardown first (connections it opened).

`murano_solution`'s served object gives the same objects from its own runtime (`app.keystore`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ..errors import UsageError
from ..services.plugin import discover
from .runner import ScriptRunner
from .testbed import live_sections


def fixture_aliases() -> dict[str, str]:
    """Fixture name -> the alias of the service whose control serves it."""
    return {name: plugin.alias for plugin in discover() for name in plugin.fixtures}


def service_fixture(services: Any, name: str) -> Any:
    """The fixture object `name` of a runtime's services; a clear error when its service is not there."""
    alias = fixture_aliases()[name]
    if alias in live_sections(services.config):  # its data is the real service's: nothing to read or set here
        raise UsageError(f"the {name} fixture needs services.{alias}.backend: local (this test runs live)")
    try:
        control = services.control(alias)
    except KeyError:
        raise UsageError(f"the {name} fixture needs the {alias} service (it is not emulated in this runtime)") \
            from None
    return control.fixture()


def fixture_problems(name: str, value: Any) -> None:
    """Fail the test with what the fixture object says went wrong (its `problems()`, when it has one)."""
    problems = getattr(value, "problems", None)
    found = problems() if callable(problems) else []
    if found:
        pytest.fail(f"{name}: " + "; ".join(found), pytrace=False)


def _make(name: str, alias: str) -> Callable[..., Any]:
    def fixture(murano: ScriptRunner) -> Iterator[Any]:
        value = service_fixture(murano.runtime.platform, name)
        try:
            yield value
        finally:
            close = getattr(value, "close", None)  # what the fixture opened (e.g. devices.mqtt's connections)
            if callable(close):
                close()
        fixture_problems(name, value)

    fixture.__name__ = name
    fixture.__doc__ = (f"The `murano` runtime's {alias} service, as a test reads and sets it (its control's "
                       "fixture()); what its problems() lists at teardown fails the test.")
    return pytest.fixture(name=name)(fixture)


def generated() -> dict[str, Callable[..., Any]]:
    """Every service fixture, by name (the plugin module puts them in its namespace for pytest)."""
    return {name: _make(name, alias) for name, alias in fixture_aliases().items()}
