"""Fixtures to seed and inspect Murano's data services of the `murano` fixture's runtime.

`keystore`: a dict-like view of Keystore (kv["k"] = "v", "k" in kv, del kv["k"], items()).
`tsdb`: write and read Tsdb points (the store Timeseries shares).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import pytest

from ..errors import UsageError
from ..services.tsdb.model import parse_time
from .runner import ScriptRunner


class KeystoreView(MutableMapping[str, Any]):
    """Keys as a script sees them: values read back as Keystore.get gives them (a hash as a dict)."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getitem__(self, key: str) -> Any:
        value = self._model.read(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._model.write(key, value)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._model.remove(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._model.read(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._model.keys())

    def __len__(self) -> int:
        return len(self._model.keys())

    def __repr__(self) -> str:
        return f"KeystoreView({dict(self.items())!r})"


class TsdbPoints:
    """write(metrics, tags=None, ts=None) like Tsdb.write; points(metric=None) -> [{metric, ts, value, tags}]."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def write(self, metrics: Mapping[str, Any], tags: Mapping[str, Any] | None = None, ts: Any = None) -> None:
        self._model.write({"metrics": dict(metrics), "tags": dict(tags or {}), "ts": ts})

    def points(self, metric: str | None = None) -> list[dict[str, Any]]:
        """Every stored point, oldest first (ts in microseconds); only `metric`'s when given."""
        return [p for p in self._model.store.points() if metric is None or p["metric"] == metric]

    def clear(self) -> None:
        self._model.deleteAll({})

    @staticmethod
    def microseconds(ts: Any) -> int:
        """A Tsdb timestamp (µs, "<n>s", "<n>ms", ISO 8601) in microseconds."""
        return parse_time(ts, "ts")


def _model(murano: ScriptRunner, alias: str) -> Any:
    service = murano.runtime.services.get(alias)
    if service is None or not hasattr(service, "model"):
        raise UsageError(f"the {alias} fixture needs the {alias} service (it is not emulated in this runtime)")
    return service.model


@pytest.fixture
def keystore(murano: ScriptRunner) -> KeystoreView:
    """The `murano` runtime's Keystore as a dict: kv["k"] = "v", "k" in kv, del kv["k"], kv.items()."""
    return KeystoreView(_model(murano, "keystore"))


@pytest.fixture
def tsdb(murano: ScriptRunner) -> TsdbPoints:
    """The `murano` runtime's Tsdb points: tsdb.write({"temp": 21}, {"sn": "a"}), tsdb.points("temp")."""
    return TsdbPoints(_model(murano, "tsdb"))
