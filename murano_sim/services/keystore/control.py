"""Keystore's control: the keys as a script sees them, for the console, the `keystore` fixture and
yaml cases (`keystore:` seeds keys, `expect.keystore` checks them; null means the key is absent)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from ...errors import UsageError
from .. import ServiceError
from ..control import Mismatch, ServiceControl, contains, mapping

MAX_KEY = 1024  # the console refuses longer keys (Murano's own limit is larger; this is an input guard)


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


class KeystoreControl(ServiceControl):
    seed_keys = expect_keys = ("keystore",)

    def fixture(self) -> KeystoreView:
        return KeystoreView(self.model)

    def seed(self, data: Any) -> None:
        """{key: value}: each key written as Keystore.set would (a mapping value as a hash)."""
        view = self.fixture()
        with self.host.state.lock:
            for key, value in mapping(data, "keystore").items():
                view[str(key)] = value

    def inspect(self, view: str | None = None, **query: Any) -> dict[str, Any]:
        """{"keys": [{key, type, value}]}: a hash, list or set shows its type and no value."""
        store = self.model
        with self.host.state.lock:
            keys = []
            for key in store.keys():
                try:
                    value, kind = store.read(key), "string"
                except ServiceError:  # a hash, list or set: Keystore.get refuses it; show its type
                    value, kind = None, store.client.type(store.prefix + key)
                keys.append({"key": key, "type": kind, "value": value})
        return {"keys": keys}

    @property
    def actions(self) -> Mapping[str, Callable[..., Any]]:
        return {"set": self.set, "delete": self.delete}

    def set(self, key: Any = None, value: Any = None) -> dict[str, Any]:
        """One string value (the console's edit); answers the keys afterwards."""
        if not isinstance(key, str) or not key or len(key) > MAX_KEY:
            raise UsageError(f"key: expected 1 to {MAX_KEY} characters")
        if not isinstance(value, str):
            raise UsageError("value: expected a string")
        with self.host.state.lock:
            self.model.write(key, value)
        return self.inspect()

    def delete(self, key: Any = None) -> dict[str, Any]:
        with self.host.state.lock:
            self.model.remove(str(key))
        return self.inspect()

    @staticmethod
    def check_case(key: str, where: str, value: Any, *, expect: bool) -> Any:
        return dict(mapping(value, where))

    def expect(self, key: str, wanted: Any) -> list[Mismatch]:
        view = self.fixture()
        wanted = {str(k): v for k, v in wanted.items()}
        actual = {k: view.get(k) for k in wanted}
        if all(contains(actual[k], v) if v is not None else actual[k] is None for k, v in wanted.items()):
            return []
        return [Mismatch("keystore", wanted, actual, "null means the key is absent")]


factory = KeystoreControl
