"""Keystore's size rules: how big a key may grow, reckoned from a command's arguments before it runs.

A key's size is the bytes of the text it holds, plus ENTRY_BYTES for each element, field or member
of a list, hash, set or sorted set (what an entry costs the store beyond its text). Estimates are
upper bounds: a command that may shrink a key keeps its old estimate until a recount.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import ServiceError
from ..bounds import text_bytes

# Murano documents no value size: chosen 1 MiB, the memory of one execution (a script could not read
# a bigger value back), and offsets and counts are bounded by the same number.
MAX_VALUE_BYTES = 1024 * 1024
DEFAULT_QUOTA_BYTES = 64 * 1024 * 1024  # murano-sim's choice: what a solution's Keystore may hold in all
ENTRY_BYTES = 32
NUMBER_BYTES = 64  # INCR's and INCRBYFLOAT's results are short numbers

_REPLACES = frozenset("set setnx getset".split())
_REPLACES_AFTER_TIME = frozenset("setex psetex".split())  # SETEX key seconds value
_NUMBERS = frozenset("incr decr incrby decrby incrbyfloat".split())
_NUMBER_FIELDS = frozenset("hincrby hincrbyfloat zincrby".split())
_UNCHANGED = frozenset("expire pexpire expireat pexpireat persist".split())
# Verbs whose integer arguments are offsets, indexes or counts.
_OFFSETS = frozenset("getrange setrange lrange lindex lset ltrim lrem zrange zrevrange srandmember spop".split())


def entry_size(kind: str, value: Any) -> int:
    """The size of a key from its typed read (kind: string, hash, list, set, zset, geo)."""
    if kind == "string":
        return text_bytes(value)
    if kind == "hash":
        return sum(text_bytes(k) + text_bytes(v) + ENTRY_BYTES for k, v in value.items())
    if kind in ("list", "set"):
        return sum(text_bytes(v) + ENTRY_BYTES for v in value)
    if kind in ("zset", "geo"):
        return sum(text_bytes(pair[0]) + 8 + ENTRY_BYTES for pair in value)
    return 0


def check_offsets(verb: str, args: Sequence[str], limit: int) -> None:
    """Refuse an offset or count beyond the value size bound (before Redis can allocate for it)."""
    if verb not in _OFFSETS:
        return
    for arg in args:
        number = _integer(arg)
        if number is not None and abs(number) > limit:
            raise ServiceError(
                413, f"Keystore.command: {verb}: {arg} is beyond the value size bound ({limit} bytes)"
            )


def result_bound(verb: str, args: Sequence[str], current: int) -> int:
    """At most how big a read's reply can be: a negative SRANDMEMBER count repeats members."""
    if verb == "srandmember" and args:
        count = _integer(args[0])
        if count is not None and count < 0:
            return -count * max(current, 1)
    return current


def new_size(verb: str, args: Sequence[str], current: int) -> int | None:
    """The key's size after the command at most, or None when the command cannot make it grow."""
    if verb in _UNCHANGED or verb not in _GROWS:
        return None
    if verb in _REPLACES:
        return text_bytes(args[0]) if args else 0
    if verb in _REPLACES_AFTER_TIME:
        return text_bytes(args[1]) if len(args) > 1 else 0
    if verb == "setrange":
        offset = _integer(args[0]) if args else None
        if offset is None or len(args) < 2:
            return current  # Redis refuses it
        return max(current, offset + text_bytes(args[1]))
    if verb == "append":
        return current + sum(text_bytes(a) for a in args)
    if verb in _NUMBERS:
        return max(current, NUMBER_BYTES)
    if verb in _NUMBER_FIELDS:
        return current + ENTRY_BYTES + NUMBER_BYTES + sum(text_bytes(a) for a in args)
    return current + sum(text_bytes(a) + ENTRY_BYTES for a in args)


_GROWS = frozenset(
    "set setnx setex psetex append incr decr incrby decrby incrbyfloat getset setrange lpush rpush lpushx rpushx "
    "linsert lset sadd hset hsetnx hmset hincrby hincrbyfloat zadd zincrby geoadd".split()
)


def _integer(arg: str) -> int | None:
    text = arg.strip()
    sign = ""
    if text and text[0] in "+-":
        sign, text = text[0], text[1:]
    return int(sign + text) if text.isascii() and text.isdigit() else None
