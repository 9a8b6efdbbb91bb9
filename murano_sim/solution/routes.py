"""Endpoint route matching with one bound route map per host, not one per request.

`Map.bind_to_environ` builds a MapAdapter for every request (host, script root, scheme, method,
path, query). The adapter's host, root and scheme only shape the URL of a redirect Werkzeug
decides on; method, path and query are passed to `match` directly. So one adapter per
(host, root, scheme) serves every request of a loaded solution, and `match` answers exactly as
the adapter `bind_to_environ` would build. An upgrade request (matched as a WebSocket by
Werkzeug) is bound as before. A successful match is kept for the next request with the same
host, root, scheme, method and path (a reloaded solution gets a new matcher, so a new map).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from werkzeug.routing import Map, MapAdapter
from werkzeug.wrappers import Request

MAX_ADAPTERS = 32  # the Host header is the client's: beyond this many hosts, bind per request
# Matched requests kept by (host, root, scheme, method, path): a served solution's clients ask the
# same few paths again and again. The path is the client's: beyond this many, matched per request.
MAX_MATCHES = 1024


def _wsgi_text(value: str) -> str:
    return value.encode("latin-1").decode("utf-8", "replace")  # as Werkzeug decodes environ strings


class RouteMatcher:
    """Matches requests against one solution's route map (a new matcher for a reloaded solution)."""

    def __init__(self, url_map: Map) -> None:
        self.url_map = url_map
        self._adapters: dict[tuple[str, str, str], MapAdapter] = {}
        # only successful matches: a redirect names the query, NotFound and MethodNotAllowed are rare
        self._matches: dict[tuple[str, ...], tuple[Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def match(self, request: Request, is_upgrade: bool) -> tuple[Any, Mapping[str, Any]]:
        """(endpoint, path parameters), or Werkzeug's NotFound, MethodNotAllowed or redirect."""
        environ = request.environ
        if is_upgrade:
            return self.url_map.bind_to_environ(environ).match()
        key = (request.host.lower(), _wsgi_text(environ.get("SCRIPT_NAME", "")), request.scheme)
        method, path = environ["REQUEST_METHOD"], _wsgi_text(environ.get("PATH_INFO", ""))
        # A match depends on the map and these only (the query shapes a redirect's URL, never cached).
        kept = (*key, method, path)
        found = self._matches.get(kept)
        if found is not None:
            return found[0], dict(found[1])  # the caller's own copy of the path parameters
        adapter = self._adapters.get(key)
        if adapter is None:
            adapter = self.url_map.bind(key[0], key[1], "", key[2], method)
            with self._lock:
                if len(self._adapters) < MAX_ADAPTERS:
                    self._adapters[key] = adapter
        endpoint, arguments = adapter.match(
            path, method, query_args=_wsgi_text(environ.get("QUERY_STRING", "")), websocket=False,
        )
        with self._lock:
            if len(self._matches) < MAX_MATCHES:
                self._matches[kept] = (endpoint, dict(arguments))
        return endpoint, arguments
