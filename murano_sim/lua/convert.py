"""Values across the Lua/Python boundary: only plain Lua values go in, only plain Python comes out.

The Lua runtime runs with `encoding=None`, so Lua strings arrive as bytes and every Python
string is encoded here before it enters Lua (a `str` handed to lupa would become a Python
object inside Lua, which the sandbox never allows).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from .engine import lua_type

MAX_DEPTH = 100
_CHECK_EVERY = 256  # values visited between two deadline checks


class Unconvertible(ValueError):
    """A Lua value has no JSON-like Python equivalent (a function, a cycle, too deep...)."""


class LimitReached(Exception):
    """A conversion would exceed the script's budget: kind is "memory" or "time"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Budget:
    """What one conversion may cost: bytes (roughly, the size of what it builds) and time.

    A table reached twice is paid twice, so shared sub-tables cannot multiply the work.
    """

    def __init__(self, size: int, deadline: float | None) -> None:
        self.left = size
        self.deadline = deadline
        self._visits = 0

    def pay(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise LimitReached("memory")
        self._visits += 1
        if self._visits % _CHECK_EVERY == 0 and self.deadline is not None and time.monotonic() > self.deadline:
            raise LimitReached("time")


_PLAIN = (bool, int, float, bytes, type(None))

# What an is_empty_array callback returns for json.null: the value converts to None.
JSON_NULL = "null"
# ... and for a table that was empty only until it was asked (a script's service table, built
# on first use): its items are read again.
TABLE_BUILT = "built"

def to_lua(
    lua: Any,
    value: Any,
    mark_empty_array: Callable[[Any], Any] | None = None,
    budget: Budget | None = None,
    *,
    null: Any = None,
    array_null: Any = None,
    _depth: int = 0,
) -> Any:
    """Python JSON-like value -> Lua value; None (and None-valued keys) become nil/absent.

    mark_empty_array, when given, tags each empty list's table so it converts back as [].
    budget, when given, is paid roughly what each value costs in Lua memory; nesting deeper
    than MAX_DEPTH is Unconvertible.
    null, when given, is the Lua value None becomes instead (json.parse's json.null).
    array_null, when given, is what None becomes as an element of a list only (a service result's
    json.null: a row keeps its length and its columns' places; an object's null field stays absent).
    """
    if null is not None:
        return _to_lua_keeping_null(lua, value, mark_empty_array, null, budget, _depth)
    kind = type(value)  # exact-type dispatch first: this runs for every request and result
    if kind is str:
        if budget is not None:
            budget.pay(24 + len(value))
        return value.encode("utf-8", "surrogatepass")
    if kind is int and not -(2**63) <= value < 2**63:
        value = _wide_int(value)  # Lua numbers are doubles: a wider integer becomes its float
        kind = float
    if _depth > MAX_DEPTH and kind in (dict, list, tuple):
        raise Unconvertible(f"value is nested deeper than {MAX_DEPTH} levels")
    if kind is dict:
        if budget is not None:
            budget.pay(64 + 40 * len(value))
        items = {}
        for k, v in value.items():
            vkind = type(v)
            if vkind is str:
                if budget is not None:
                    budget.pay(24 + len(v))
                v = v.encode("utf-8", "surrogatepass")
            elif v is None:
                continue
            elif vkind not in _PLAIN or vkind is int or budget is not None:
                v = to_lua(lua, v, mark_empty_array, budget, array_null=array_null, _depth=_depth + 1)
            items[k.encode("utf-8", "surrogatepass") if type(k) is str else _key(k)] = v
        return lua.table_from(items)
    if kind in _PLAIN:
        if budget is not None:
            budget.pay(8)
        return value
    if isinstance(value, str):
        return str(value).encode("utf-8", "surrogatepass")
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return to_lua(lua, dict(value), mark_empty_array, budget, array_null=array_null, _depth=_depth)
    if isinstance(value, (list, tuple)):
        if budget is not None:
            budget.pay(64 + 16 * len(value))
        if not value and mark_empty_array is not None:
            return mark_empty_array(lua.table())
        return lua.table_from([array_null if v is None and array_null is not None else
                               to_lua(lua, v, mark_empty_array, budget, array_null=array_null, _depth=_depth + 1)
                               for v in value])
    raise Unconvertible(f"cannot pass a {type(value).__name__} to Lua")


def _wide_int(value: int) -> float:
    try:
        return float(value)
    except OverflowError:
        raise Unconvertible("number is out of range") from None


def _to_lua_keeping_null(
    lua: Any, value: Any, mark_empty_array: Callable[[Any], Any] | None, null: Any, budget: Budget | None, depth: int
) -> Any:
    if value is None:
        return null
    if depth > MAX_DEPTH and isinstance(value, (dict, list)):
        raise Unconvertible(f"value is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if budget is not None:
            budget.pay(64 + 40 * len(value))
        return lua.table_from(
            {_key(k): _to_lua_keeping_null(lua, v, mark_empty_array, null, budget, depth + 1) for k, v in value.items()}
        )
    if isinstance(value, list) and value:
        if budget is not None:
            budget.pay(64 + 16 * len(value))
        return lua.table_from([_to_lua_keeping_null(lua, v, mark_empty_array, null, budget, depth + 1) for v in value])
    return to_lua(lua, value, mark_empty_array, budget, _depth=depth)


def _key(key: Any) -> Any:
    if type(key) is str:
        return key.encode("utf-8", "surrogatepass")
    if isinstance(key, str):
        return key.encode("utf-8", "surrogatepass")
    if isinstance(key, (int, float, bytes)) and not isinstance(key, bool):
        return key
    raise Unconvertible(f"cannot use a {type(key).__name__} as a Lua table key")


def text(value: bytes | str) -> str:
    """A Lua string as Python text; invalid UTF-8 is replaced, never raised."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def from_lua(
    value: Any,
    *,
    strict: bool = True,
    is_empty_array: Callable[[Any], bool] | None = None,
    budget: Budget | None = None,
    _depth: int = 0,
    _seen: frozenset[int] = frozenset(),
) -> Any:
    """Lua value -> Python JSON-like value.

    A table whose keys are exactly 1..n (n > 0) becomes a list; any other table a dict with
    string keys. An empty table is an empty dict unless is_empty_array says it was marked as
    an array. strict=True raises Unconvertible for functions, cycles, NaN or invalid UTF-8;
    strict=False renders them as text instead. budget, when given, is paid roughly the size
    of the text each visited value becomes.
    """
    kind = lua_type(value)
    if kind is None:
        if budget is not None:
            budget.pay(len(value) + 2 if isinstance(value, bytes) else 8)
        if isinstance(value, bytes):
            if strict:
                try:
                    return value.decode("utf-8")
                except UnicodeDecodeError:
                    raise Unconvertible("string is not valid UTF-8") from None
            return text(value)
        if isinstance(value, float):
            if math.isfinite(value):
                return int(value) if value.is_integer() and abs(value) < 2**53 else value
            if strict:
                raise Unconvertible(f"cannot encode {value} as JSON")
            return str(value)
        return value
    if kind != "table":
        if strict:
            raise Unconvertible(f"cannot convert a {kind} value")
        return f"<{kind}>"
    ident = id(value)
    if ident in _seen or _depth >= MAX_DEPTH:
        if strict:
            raise Unconvertible("table is nested too deeply or contains itself")
        return "<cycle>"
    if budget is not None:
        budget.pay(16)
    items = list(value.items())
    flat = _flat_record(items, strict, budget)
    if flat is not None:
        return flat
    nested: dict[str, Any] = {
        "strict": strict, "is_empty_array": is_empty_array, "budget": budget, "_depth": _depth + 1,
        "_seen": _seen | {ident},
    }
    if not items:
        marked = is_empty_array(value) if is_empty_array is not None else False
        if marked == JSON_NULL:
            return None
        if marked != TABLE_BUILT:
            return [] if marked else {}
        items = list(value.items())
    if all(type(k) is int for k, _ in items):
        keys = sorted(k for k, _ in items)
        if keys[0] == 1 and keys[-1] == len(keys):
            by_key = dict(items)
            return [from_lua(by_key[i], **nested) for i in keys]
    out: dict[str, Any] = {}
    for k, v in items:
        name = from_lua(k, **nested)
        if not isinstance(name, str):
            name = _number_key(name) if strict or isinstance(name, (int, float)) else str(name)
        out[name] = from_lua(
            v, **nested
        )
    return dict(sorted(out.items()))


def _flat_record(items: list[tuple[Any, Any]], strict: bool, budget: Budget | None) -> dict[str, Any] | None:
    """A table of string keys and string or boolean values (most service arguments) converted in
    one pass, as from_lua converts it; None for any other table (from_lua walks it)."""
    if not items:
        return None
    for key, item in items:
        if type(key) is not bytes or (type(item) is not bytes and type(item) is not bool):
            return None
    out: dict[str, Any] = {}
    for key, item in items:
        if budget is not None:  # one payment per pair: the key's size and the value's together
            budget.pay(len(key) + (len(item) + 4 if type(item) is bytes else 10))
        if strict:
            try:
                name = key.decode("utf-8")
                out[name] = item.decode("utf-8") if type(item) is bytes else item
            except UnicodeDecodeError:
                raise Unconvertible("string is not valid UTF-8") from None
        else:
            out[text(key)] = text(item) if type(item) is bytes else item
    return dict(sorted(out.items()))


def _number_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, (int, float)):
        return str(key)
    raise Unconvertible("a table key must be a string or a number")
