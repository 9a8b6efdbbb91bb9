"""Murano's event handler wrappers: each handler is the global function handle_<alias>_<event>(<argument>).

The solution's hot VM defines them; services that run a handler inside the caller's execution
(Scripts.trigger, Interface operations) call them by the same names. The argument's name comes
from the service's spec (`events:`): services.registry.argument_name.
"""

from __future__ import annotations

import re

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


def function_name(service: str, event: str) -> str:
    """handle_<alias>_<event>, with any character Lua names cannot hold ({product.id}) as `_`."""
    return f"handle_{_NOT_IDENTIFIER.sub('_', service)}_{_NOT_IDENTIFIER.sub('_', event)}"
