"""One control interface per service: how anything outside the script reaches a service's data.

The console API, the Twilio control plane (`/_emulator/`), the pytest fixtures, the yaml cases'
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


class ControlError(ValueError):
    """An action was called with arguments it cannot use: the caller's mistake, said in one line."""


@runtime_checkable
class Control(Protocol):
    """Seed, inspect, reset and the service's own actions (Twilio's press/speak/inbound, Timer's fire, ...)."""

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
        """The object a pytest fixture of this service hands a test (KeystoreView, TwilioControl, ...)."""


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


# -- matching what a control holds against what a test expects (cases, fixtures) ----------------
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


def contains(actual: Any, wanted: Any) -> bool:
    """True when `wanted` is a subset of `actual`: mappings by key, lists item by item, scalars equal."""
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(k in actual and contains(actual[k], v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(actual, list) and len(actual) == len(wanted) and all(map(contains, actual, wanted))
        )
    return _equal(wanted, actual)


def project(actual: Any, wanted: Any) -> Any:
    """`actual` cut down to the shape of `wanted`, so a diff shows only what was asked about."""
    if isinstance(wanted, Mapping) and isinstance(actual, Mapping):
        return {k: project(actual[k], v) for k, v in wanted.items() if k in actual}
    if isinstance(wanted, list) and isinstance(actual, list) and len(actual) == len(wanted):
        return [project(a, w) for a, w in zip(actual, wanted, strict=True)]
    return actual


def _equal(wanted: Any, actual: Any) -> bool:
    # YAML's 1 and Lua's 1.0 are the same number; True is not 1.
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return type(wanted) is type(actual) and wanted == actual
    return bool(wanted == actual)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool)) and "\n" not in str(value)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)
