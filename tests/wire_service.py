"""The `quotes` test service's local backend (ServicePlugin.wire): a WSGI app with state, reset and close."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from murano_sim.services import ServiceHost


class QuotesBackend:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        self.paths: list[str] = []
        self.resets = 0
        self.closed = False

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.paths.append(f"{environ['HTTP_HOST']}{environ['PATH_INFO']}")
        symbol = environ["PATH_INFO"].rsplit("/", 1)[-1].removesuffix(".json")
        status, body = ("200 OK", {"symbol": symbol, "price": 42}) if symbol.isalpha() else (
            "404 Not Found", {"message": f"no symbol {symbol}"})
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    def inspect(self, view: str | None = None, **query: Any) -> dict[str, Any]:
        return {"requests": list(self.paths)}

    def reset(self) -> None:
        self.paths.clear()
        self.resets += 1

    def close(self) -> None:
        self.closed = True


def backend(host: ServiceHost, given: Any = None) -> QuotesBackend:
    return given if given is not None else QuotesBackend(host)
