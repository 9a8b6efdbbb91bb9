"""One pytest fixture per name in the services' plugins (`fixtures=`): each is the service's
control's `fixture()` on the `murano` runtime (`keystore`, `tsdb`, `users`, `outbox`, `devices`,
`timers`, `murano_services_config`, ... whatever the installed services declare).

`murano_solution`'s served object gives the same objects from its own runtime (`app.keystore`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ..errors import UsageError
from ..services.plugin import discover
from .runner import ScriptRunner


def fixture_aliases() -> dict[str, str]:
    """Fixture name -> the alias of the service whose control serves it."""
    return {name: plugin.alias for plugin in discover() for name in plugin.fixtures}


def service_fixture(services: Any, name: str) -> Any:
    """The fixture object `name` of a runtime's services; a clear error when its service is not there."""
    alias = fixture_aliases()[name]
    try:
        control = services.control(alias)
    except KeyError:
        raise UsageError(f"the {name} fixture needs the {alias} service (it is not emulated in this runtime)") \
            from None
    return control.fixture()


def _make(name: str, alias: str) -> Callable[..., Any]:
    def fixture(murano: ScriptRunner) -> Any:
        return service_fixture(murano.runtime.platform, name)

    fixture.__name__ = name
    fixture.__doc__ = f"The `murano` runtime's {alias} service, as a test reads and sets it (its control's fixture())."
    return pytest.fixture(name=name)(fixture)


def generated() -> dict[str, Callable[..., Any]]:
    """Every service fixture, by name (the plugin module puts them in its namespace for pytest)."""
    return {name: _make(name, alias) for name, alias in fixture_aliases().items()}
