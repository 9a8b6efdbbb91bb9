"""Size bounds every service call shares: what a call may hand a service, measured before any work.

Stored data is the service's, not the execution's: these bounds are separate from lua.max_memory.
A service's own rules (a Keystore value, a Device2 string resource) live in its model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import ConfigError
from ..state import State
from .host import ServiceError

# Arguments of one call, as JSON-like text would count them. A script cannot build more than its 1 MB
# of execution memory anyway; this bounds what a host-side caller (a nested service, a test) may pass.
MAX_ARGUMENT_BYTES = 4 * 1024 * 1024
_SCALAR_BYTES = 8  # a number, boolean or nil, and the cost of each table slot
_FLAT_SLOTS = 64  # a table this small, of scalars only, is counted in one pass (oversize)


# What a triggered handler receives (Scripts.trigger, Interface.trigger): murano-sim's choice, the
# memory of one execution (the handler could not hold more); counted as services' arguments are.
MAX_PAYLOAD_BYTES = 1024 * 1024


def check_payload(label: str, what: str, value: object, limit: int = MAX_PAYLOAD_BYTES) -> None:
    """A 413 error table when a payload counts more than limit bytes."""
    if oversize(value, limit):
        raise ServiceError(413, f"{label}: {what}: larger than {limit} bytes")


def oversize(value: Any, limit: int) -> bool:
    """True when value (a JSON-like tree) counts more than limit bytes; stops as soon as it does,
    so a huge argument costs no more than `limit` bytes of walking."""
    if type(value) is dict and len(value) <= _FLAT_SLOTS:
        # The usual call ({key = ..., value = ...}): the same count in one pass; nested tables take the walk.
        left = limit - _SCALAR_BYTES * (len(value) + 1)
        for key, item in value.items():
            kind = type(item)
            if kind is str:
                left -= len(item) + _SCALAR_BYTES
            elif kind is int or kind is float or kind is bool or item is None:
                left -= _SCALAR_BYTES
            else:
                break
            if type(key) is str or type(key) is bytes:
                left -= len(key)
        else:
            return left < 0
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


# -- a service's own store: per-value bounds and a byte quota -------------------------------------------
ROW_BYTES = 32  # what a stored row costs beyond its text (as Keystore's ENTRY_BYTES)
DEFAULT_QUOTA_BYTES = 64 * 1024 * 1024  # murano-sim's choice, as the Keystore's: a loop cannot fill the machine


def positive_setting(settings: Mapping[str, Any], alias: str, name: str, default: int) -> int:
    """A size setting of services.<alias> (config.yaml), a positive integer; default when absent."""
    value = settings.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"services.{alias}.{name}: must be a positive integer, got {value!r}")
    return value


def check_size(label: str, what: str, value: Any, limit: int) -> int:
    """The UTF-8 size of value (its text for scalars); a 413 error table naming `what` above limit."""
    size = text_bytes(value)
    if size > limit:
        raise ServiceError(413, f"{label}: {what}: {size} bytes; at most {limit}")
    return size


def check_count(label: str, what: str, count: int, limit: int) -> None:
    if count > limit:
        raise ServiceError(413, f"{label}: {what}: {count} given; at most {limit}")


def row_bytes(*values: Any) -> int:
    """What a row of these column values counts against a quota (as table_bytes measures it)."""
    return ROW_BYTES + sum(text_bytes(v) for v in values if v is not None)


def table_bytes(state: State, tables: Iterable[str]) -> int:
    """The bytes every row of these tables of the state holds: each column's text, plus ROW_BYTES a row."""
    total = 0
    with state.lock:  # the device API's threads write the same connection
        for table in tables:
            columns = [row[1] for row in state.db.execute(f"PRAGMA table_info({table})")]
            if not columns:
                continue  # not created yet
            text = " + ".join(f'COALESCE(length(CAST("{c}" AS BLOB)), 0)' for c in columns)
            (size,) = state.db.execute(
                f"SELECT COALESCE(SUM({text} + {ROW_BYTES}), 0) FROM {table}").fetchone()  # noqa: S608
            total += size
    return total


class ByteQuota:
    """A store's bytes against its quota. The count is an upper bound kept by adding what each write
    charges; it is measured exactly (`measure`) at the first charge, after forget() and whenever a
    charge would pass the quota, so deletes make room again without each one being counted."""

    def __init__(self, label: str, limit: int, setting: str, measure: Callable[[], int]) -> None:
        self.label, self.limit, self.setting, self.measure = label, limit, setting, measure
        self.used: int | None = None
        self._lock = threading.Lock()

    def charge(self, size: int) -> None:
        """Count `size` more bytes, or refuse with a 403 error table (before the caller writes anything)."""
        with self._lock:
            self._charge(size)

    def _charge(self, size: int) -> None:
        if self.used is None or self.used + size > self.limit:
            self.used = self.measure()
            if self.used + size > self.limit:
                raise ServiceError(403, f"{self.label}: byte quota reached ({self.limit} bytes, {self.used} used); "
                                        f"delete data or raise {self.setting}")
        self.used += size

    def forget(self) -> None:
        """The store changed in a way not charged (a reset, a restore): measure again at the next charge."""
        self.used = None
