"""Size bounds every service call shares: what a call may hand a service, measured before any work.

Stored data is the service's, not the execution's: these bounds are separate from lua.max_memory.
A service's own rules (a Keystore value, a Device2 string resource) live in its model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Arguments of one call, as JSON-like text would count them. A script cannot build more than its 1 MB
# of execution memory anyway; this bounds what a host-side caller (a nested service, a test) may pass.
MAX_ARGUMENT_BYTES = 4 * 1024 * 1024
_SCALAR_BYTES = 8  # a number, boolean or nil, and the cost of each table slot


def oversize(value: Any, limit: int) -> bool:
    """True when value (a JSON-like tree) counts more than limit bytes; stops as soon as it does,
    so a huge argument costs no more than `limit` bytes of walking."""
    left = limit
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (str, bytes)):
            left -= len(node) + _SCALAR_BYTES
        elif isinstance(node, Mapping):
            left -= _SCALAR_BYTES * (len(node) + 1)  # every slot first: a huge table stops here
            if left < 0:
                return True
            for key, item in node.items():
                left -= len(key) if isinstance(key, (str, bytes)) else 0
                stack.append(item)
        elif isinstance(node, (list, tuple)):
            left -= _SCALAR_BYTES * (len(node) + 1)
            if left < 0:
                return True
            stack.extend(node)
        else:
            left -= _SCALAR_BYTES
        if left < 0:
            return True
    return False


def text_bytes(value: Any) -> int:
    """The UTF-8 size of a string argument (other scalars as their text)."""
    if isinstance(value, bytes):
        return len(value)
    return len(str(value).encode("utf-8", "surrogatepass"))
