"""Endpoint route matching with one bound route map per host, not one per request.

`Map.bind_to_environ` builds a MapAdapter for every request (host, script root, scheme, method,
path, query). The adapter's host, root and scheme only shape the URL of a redirect Werkzeug
decides on; method, path and query are passed to `match` directly. So one adapter per
(host, root, scheme) serves every request of a loaded solution, and `match` answers exactly as
the adapter `bind_to_environ` would build. An upgrade request (matched as a WebSocket by
Werkzeug) is bound as before.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from werkzeug.routing import Map, MapAdapter
from werkzeug.wrappers import Request

MAX_ADAPTERS = 32  # the Host header is the client's: beyond this many hosts, bind per request


def _wsgi_text(value: str) -> str:
    return value.encode("latin-1").decode("utf-8", "replace")  # as Werkzeug decodes environ strings


class RouteMatcher:
    """Matches requests against one solution's route map (a new matcher for a reloaded solution)."""

    def __init__(self, url_map: Map) -> None:
        self.url_map = url_map
        self._adapters: dict[tuple[str, str, str], MapAdapter] = {}
        self._lock = threading.Lock()

    def match(self, request: Request, is_upgrade: bool) -> tuple[Any, Mapping[str, Any]]:
        """(endpoint, path parameters), or Werkzeug's NotFound, MethodNotAllowed or redirect."""
        environ = request.environ
        if is_upgrade:
            return self.url_map.bind_to_environ(environ).match()
        key = (request.host.lower(), _wsgi_text(environ.get("SCRIPT_NAME", "")), request.scheme)
        adapter = self._adapters.get(key)
        if adapter is None:
            adapter = self.url_map.bind(key[0], key[1], "", key[2], environ["REQUEST_METHOD"])
            with self._lock:
                if len(self._adapters) < MAX_ADAPTERS:
                    self._adapters[key] = adapter
        return adapter.match(
            _wsgi_text(environ.get("PATH_INFO", "")), environ["REQUEST_METHOD"],
            query_args=_wsgi_text(environ.get("QUERY_STRING", "")), websocket=False,
        )
