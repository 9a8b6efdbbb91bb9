"""One control interface per service: how anything outside the script reaches a service's data.

The console API, a service's own control plane, the pytest fixtures, the yaml cases'
`seed:`/`expect:` keys and the Lua test controls are thin views of a service's `Control`: none of
them reaches into a model. A service without a control of its own gets `ModelControl`, which
forwards to the model's `seed`/`inspect`/`reset` methods when it has them.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..config import redact
from ..errors import UsageError


@runtime_checkable
class Control(Protocol):
    """Seed, inspect, reset and the service's own actions (a phone's press/speak/inbound, Timer's fire, ...)."""

    alias: str

    def seed(self, data: Any) -> None:
        """Add data as the service stores it (yaml `seed:`, a fixture's set-up, the console's edits)."""

    def inspect(self, view: str | None = None, **query: Any) -> Any:
        """What the service holds, JSON-able (the console's GET, a case's `expect:`)."""

    def reset(self) -> None:
        """Back to the seeded state."""

    @property
    def actions(self) -> Mapping[str, Callable[..., Any]]:
        """The service's own actions by name; each takes JSON-able keyword arguments and returns JSON-able data."""

    def fixture(self) -> Any:
        """The object a pytest fixture of this service hands a test (KeystoreView, a phone's control, ...)."""


class ModelControl:
    """The control of a service that declares none: the model's own seed/inspect/reset, no actions."""

    def __init__(self, alias: str, model: Any) -> None:
        self.alias = alias
        self.model = model

    def seed(self, data: Any) -> None:
        seed = getattr(self.model, "seed", None)
        if seed is None:
            raise NotImplementedError(f"{self.alias} cannot be seeded")
        seed(data)

    def inspect(self, view: str | None = None, **query: Any) -> Any:
        inspect = getattr(self.model, "inspect", None)
        return inspect(view, **query) if inspect is not None else {}

    def reset(self) -> None:
        reset = getattr(self.model, "reset", None)
        if reset is not None:
            reset()

    @property
    def actions(self) -> Mapping[str, Callable[..., Any]]:
        return {}

    def fixture(self) -> Any:
        return self


@dataclass(frozen=True)
class PanelRoute:
    """One route of a service's console panel, under /_murano-sim/api (werkzeug rule syntax)."""

    path: str  # e.g. "/phone/calls/<sid>"
    methods: tuple[str, ...]
    view: Callable[..., Any]  # view(app, request, **path_arguments) -> JSON-able; UsageError is a 400


@dataclass(frozen=True)
class ConsolePanel:
    """What a service adds to the browser console (its plugin's `console=`): routes the page calls."""

    title: str
    routes: tuple[PanelRoute, ...] = ()


class ControlError(ValueError):
    """An action was called with arguments it cannot use: the caller's mistake, said in one line."""


class FixtureError(AssertionError):
    """A fixture's call was refused by the service (the message is Murano's error)."""


class CaseDataError(UsageError):
    """A malformed service section of a yaml case (the message names the file, line and case)."""


@dataclass
class Mismatch:
    """One expectation that did not hold: what was looked at, what was wanted, what was there."""

    what: str
    expected: Any
    actual: Any
    note: str = ""

    def render(self) -> str:
        head = f"{self.what}: {self.note}" if self.note else f"{self.what}:"
        if self.expected is None and self.actual is None:
            return head
        if _is_scalar(self.expected) and _is_scalar(self.actual):
            return f"{head} expected {_json(self.expected)}, got {_json(self.actual)}"
        return head + "\n" + json_diff(self.expected, self.actual)


def json_diff(expected: Any, actual: Any) -> str:
    """A unified diff of the two values as pretty, key-sorted JSON."""
    lines = difflib.unified_diff(
        _pretty(expected).splitlines(), _pretty(actual).splitlines(), "expected", "actual", lineterm="", n=3
    )
    return "\n".join(lines)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool)) and "\n" not in str(value)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def contains(actual: Any, wanted: Any) -> bool:
    """True when `wanted` is a subset of `actual`: mappings by key, lists item by item, scalars equal."""
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(k in actual and contains(actual[k], v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(actual, list) and len(actual) == len(wanted) and all(map(contains, actual, wanted))
        )
    return equal(wanted, actual)


def project(actual: Any, wanted: Any) -> Any:
    """`actual` cut down to the shape of `wanted`, so a diff shows only what was asked about."""
    if isinstance(wanted, Mapping) and isinstance(actual, Mapping):
        return {k: project(actual[k], v) for k, v in wanted.items() if k in actual}
    if isinstance(wanted, list) and isinstance(actual, list) and len(actual) == len(wanted):
        return [project(a, w) for a, w in zip(actual, wanted, strict=True)]
    return actual


def equal(wanted: Any, actual: Any) -> bool:
    # YAML's 1 and Lua's 1.0 are the same number; True is not 1.
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return type(wanted) is type(actual) and wanted == actual
    return bool(wanted == actual)


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """A case section that must be a mapping."""
    if not isinstance(value, Mapping):
        raise CaseDataError(f"{where} must be a mapping")
    return value


def entries(value: Any, where: str, known: Any, shape: str) -> list[tuple[int, Mapping[str, Any]]]:
    """A list of mappings with only `known` keys, each with its index (for the caller's messages)."""
    if not isinstance(value, list):
        raise CaseDataError(f"{where} must be a list of {shape}")
    found = []
    for i, entry in enumerate(value):
        entry = mapping(entry, f"{where}[{i}]")
        unknown = set(entry) - set(known)
        if unknown:
            raise CaseDataError(f"{where}[{i}]: unknown key {sorted(unknown)[0]!r} (known: {', '.join(known)})")
        found.append((i, entry))
    return found


class ServiceControl(ModelControl):
    """A built-in service's control over its LocalService: the model, its host (state lock, the other
    services) and the yaml case keys it answers (`seed_keys` in a case's settings, `expect_keys` in
    its `expect:`); `check_case` checks one at collection, `expect` checks one after the run."""

    seed_keys: tuple[str, ...] = ()
    expect_keys: tuple[str, ...] = ()
    seed_order = 0  # lower seeds first

    def __init__(self, service: Any) -> None:
        super().__init__(service.alias, service.model)
        self.host = service.host

    @property
    def services(self) -> Any:
        """The Services the service lives in (events, other services' controls, secrets)."""
        return self.host.platform

    def redacted(self, value: Any) -> Any:
        """`value` with every secret the services hold hidden (what the console may show)."""
        secrets = self.services.secrets()
        if isinstance(value, str):
            return redact(value, secrets)
        if isinstance(value, Mapping):
            return {k: self.redacted(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redacted(v) for v in value]
        return value

    @staticmethod
    def check_case(key: str, where: str, value: Any, *, expect: bool) -> Any:
        """A case's `key` section checked (CaseDataError names the problem) and normalised."""
        return value

    def expect(self, key: str, wanted: Any) -> list[Mismatch]:
        """Whether the service holds what a case's `expect.<key>` says (empty when it does)."""
        return []
