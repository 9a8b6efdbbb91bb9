"""Murano's event handler wrappers: each handler is the global function handle_<alias>_<event>(<argument>).

The solution's hot VM defines them; services that run a handler inside the caller's execution
(Scripts.trigger, Interface operations) call them by the same names.
"""

from __future__ import annotations

import re

# The name a handler's body sees as its argument, per (service, event), from Murano's wrappers.
_ARGUMENTS: dict[tuple[str, str], str] = {
    ("webservice", "request"): "request",
    ("websocket", "websocket_info"): "websocketInfo",
    ("device", "datapoint"): "data",
    ("device", "service_call"): "data",
    ("timer", "timer"): "request",
    ("user", "account"): "event",
    ("config", "service"): "service",
    ("config", "fallback"): "event",
    ("interface", "subscriberadded"): "subscription",
    ("interface", "subscriberupdated"): "subscription",
    ("interface", "subscriberremoved"): "subscription",
}
_BY_SERVICE = {"device2": "event", "interface": "operation", "scripts": "data", "tsdb": "event"}
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


def argument_name(service: str, event: str) -> str:
    """The argument name of the handler for (service, event): event, data, request, service, ..."""
    key = (service.lower(), event.lower())
    return _ARGUMENTS.get(key) or _BY_SERVICE.get(key[0], "event")


def function_name(service: str, event: str) -> str:
    """handle_<alias>_<event>, with any character Lua names cannot hold ({product.id}) as `_`."""
    return f"handle_{_NOT_IDENTIFIER.sub('_', service)}_{_NOT_IDENTIFIER.sub('_', event)}"
