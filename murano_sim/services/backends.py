"""The local backends mounted behind http services (a phone service's emulator), each built on its first use:
a script that never reaches the service never imports its backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..state import State


class LocalBackends(Mapping[str, Any]):
    """alias -> local backend. Reading one builds it; iterating names them without building any."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._built: dict[str, Any] = {}
        self._makers: dict[str, Callable[[], Any]] = {}

    def add(self, alias: str, make: Callable[[], Any]) -> None:
        """Register a backend's factory. Until it is built, a reset of a state kept in a file builds it, so
        that records it keeps in the solution's State (a --state file) are reset all the same."""
        self._makers[alias] = make
        self._state.on_reset(lambda: self._build_for_reset(alias))

    def __getitem__(self, alias: str) -> Any:
        if alias not in self._built:
            make = self._makers[alias]  # KeyError: no such backend
            backend = make()
            self._built[alias] = backend
            reset = getattr(backend, "reset", None)
            # A backend whose records live in the solution's State registers its own reset with it; one that
            # keeps its own store (a handed-in one, on its own state) resets after State's transaction.
            if reset is not None and getattr(backend, "state", None) is not self._state:
                self._state.on_reset(reset, in_transaction=False)
        return self._built[alias]

    def __contains__(self, alias: object) -> bool:
        return alias in self._makers  # asking does not build it (Mapping's own would)

    def built_aliases(self) -> list[str]:
        """The aliases of the backends built so far."""
        return list(self._built)

    def _build_for_reset(self, alias: str) -> None:
        if alias not in self._built and self._state.path is None:
            return  # never used, on a state in memory: nothing of it to reset; built with its seed on first use
        self[alias]  # built now, it has registered its own reset, which State runs later in the same reset

    def __iter__(self) -> Iterator[str]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)

    def built(self) -> list[Any]:
        """The backends built so far (what there is to close)."""
        return list(self._built.values())

    def app(self, alias: str) -> Callable[..., Any]:
        """A WSGI application that builds the backend on the first request it receives."""
        def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            return self[alias].wsgi_app(environ, start_response)

        return wsgi
