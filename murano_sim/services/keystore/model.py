"""Keystore: Murano's key-value store, with Redis's semantics from fakeredis (or a real Redis server).

The embedded store is a private fakeredis server whose databases read the solution's clock (so
EXPIRE and TTL follow runtime.advance), copied into the solution's State after each execution
(typed reads, never pickles) and restored from it at start. With `url:` a real Redis server keeps
the keys under a per-solution prefix instead.
"""

from __future__ import annotations

import builtins
import copy
import functools
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import fakeredis
import redis
from fakeredis._core import Database  # the one internal used: its `time` is the clock expiry reads
from redis.backoff import NoBackoff
from redis.connection import parse_url
from redis.retry import Retry

from ...errors import ConfigError, UsageError
from ...lua.convert import LimitReached
from .. import ServiceError, ServiceHost
from .direct import DirectRedis, usable
from .sizes import (
    DEFAULT_QUOTA_BYTES,
    MAX_VALUE_BYTES,
    check_offsets,
    entry_size,
    new_size,
    result_bound,
)

log = logging.getLogger("murano_sim.keystore")

DEFAULT_QUOTA_KEYS = 10_000
DEFAULT_REDIS_TIMEOUT = 2.0  # seconds a real Redis may take to connect or answer one command
DEADLINE_MARGIN = 0.05  # seconds: a Redis timeout this close to the execution's deadline is the deadline's
RETRY_AFTER_OUTAGE = 1.0  # seconds during which calls fail at once after Redis failed, before one tries again
MAX_COUNT = 1000
TABLE = "keystore"

# Verbs `command` accepts (lower case), each with whether it may create its key (for the key quota).
# The Aug 2016 documented list, hget/hset/srem seen in Exosite code, and the common neighbours.
_READS = (
    "get strlen type exists getrange ttl pttl persist expire pexpire expireat pexpireat llen lindex lrange "
    "lpop rpop lrem lset ltrim linsert scard smembers sismember srandmember spop srem hget hgetall hmget hkeys "
    "hvals hlen hexists hstrlen hdel zcard zscore zrange zrevrange zrangebyscore zrevrangebyscore zrank zrevrank "
    "zcount zrem geohash geodist geopos georadius del"
).split()
_WRITES = (
    "set setnx setex psetex append incr decr incrby decrby incrbyfloat getset setrange lpush rpush lpushx rpushx "
    "sadd hset hsetnx hmset hincrby hincrbyfloat zadd zincrby geoadd"
).split()
VERBS: dict[str, bool] = {**{v: False for v in _READS}, **{v: True for v in _WRITES}}


# How the state copy reads each Redis type (one command per key, pipelined).
_READ = {"string": ("GET",), "hash": ("HGETALL",), "list": ("LRANGE",), "set": ("SMEMBERS",), "zset": ("ZRANGE",)}
_READ_ARGS = {"list": (0, -1), "zset": (0, -1, "WITHSCORES")}


def _stored(kind: str, value: Any) -> tuple[str, Any]:
    """A typed read's reply as JSON-able data; a zset whose scores are geohashes (fakeredis's geo sets) is "geo"."""
    if kind == "hash":
        return kind, _as_dict(value)
    if kind == "set":
        return kind, sorted(value)
    if kind == "zset":
        pairs = [[str(m), str(s)] for m, s in _as_dict(value).items()]
        return ("zset" if all(_is_float(s) for _, s in pairs) else "geo"), pairs
    return kind, value


class ClockedDatabase(Database):
    """A fakeredis database whose notion of "now" is the solution's clock, not the host's."""

    now: Callable[[], float] = staticmethod(lambda: 0.0)  # type: ignore[assignment]

    @property  # type: ignore[override]
    def time(self) -> float:
        return self.now()

    @time.setter
    def time(self, value: float) -> None:  # fakeredis stamps time.time() before each command: ignored
        pass


Operation = TypeVar("Operation", bound=Callable[..., Any])


def _backend(operation: Operation) -> Operation:
    """A Redis server that is down, frozen or restarting answers Murano's 503 error table, logged once
    per outage; the next call after RETRY_AFTER_OUTAGE tries the server again."""

    @functools.wraps(operation)
    def guarded(self: Keystore, *args: Any) -> Any:
        if self._down_since is not None and time.monotonic() - self._last_try < RETRY_AFTER_OUTAGE:
            raise self._unavailable()
        try:
            result = operation(self, *args)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            deadline = self.host.deadline
            if isinstance(exc, redis.TimeoutError) and deadline is not None and \
                    time.monotonic() >= deadline - DEADLINE_MARGIN:
                self._sizes_known = False
                raise LimitReached("time") from None  # the script's time ran out, not Redis
            self._last_try = time.monotonic()
            if self._down_since is None:
                self._down_since = self._last_try
                log.warning("keystore: Redis at %s is unavailable (%s); Keystore calls answer 503 until it is back",
                            self.url, _one_line(exc))
            self._sizes_known = False  # what happened to the keys meanwhile is unknown: recount when back
            raise self._unavailable() from None
        if self._down_since is not None:
            log.warning("keystore: Redis at %s is back after %.1f s", self.url, time.monotonic() - self._down_since)
            self._down_since = None
        return result

    return guarded  # type: ignore[return-value]


class Keystore:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        settings = host.settings
        self.quota = int(settings.get("quota_keys") or DEFAULT_QUOTA_KEYS)
        self.quota_bytes = _positive(settings, "quota_bytes", DEFAULT_QUOTA_BYTES)
        self.max_value = _positive(settings, "max_value_bytes", MAX_VALUE_BYTES)
        self.url = settings.get("url")
        self._dirty: set[str] = set()
        self._all_dirty = False
        # Whether the store may differ from its seed (`_seeded`) since the last reset: a reset with
        # nothing written since costs no Redis command (each test of the toolkit starts with one).
        self._written = True
        self._seeded: Any = None
        # Each key's size at most (keystore_sizes.py), and their sum; recounted when unknown or near a bound.
        self._sizes: dict[str, int] = {}
        self._total = 0
        self._sizes_known = False
        self._down_since: float | None = None
        self._last_try = 0.0
        if self.url:
            self.prefix = str(settings.get("prefix") or _default_prefix(host))
            timeout = _positive(settings, "timeout_seconds", DEFAULT_REDIS_TIMEOUT)
            # Timeouts and no retries: a frozen server costs one call at most `timeout`, then calls fail at once.
            base = parse_url(str(self.url)).get("connection_class", redis.Connection)
            self.client = redis.Redis.from_url(
                str(self.url), decode_responses=True, encoding_errors="replace", socket_timeout=timeout,
                socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
                connection_class=_deadline_connection(base, lambda: host.deadline),
            )
            self._db: Database | None = None
            try:
                self.client.ping()
            except redis.RedisError as exc:
                raise UsageError(f"services.keystore.url: cannot reach {self.url}: {exc}") from None
            self.raw: redis.Redis | DirectRedis = _raw_client(self.client)
            if not self._count_keys():
                self._seed()
            return
        self.prefix = ""
        server = fakeredis.FakeServer()
        clock_now = host.now

        class _Db(ClockedDatabase):
            now = staticmethod(clock_now)

        # fakeredis keeps its databases in a defaultdict (typed as a dict): each new one is clocked
        server.dbs.default_factory = lambda: _Db(server.lock)  # type: ignore[attr-defined]
        self.client = fakeredis.FakeRedis(server=server, decode_responses=True, encoding_errors="replace")
        self._db = server.dbs[0]
        # no redis-py client or wire protocol on the hot path, when this fakeredis has what it needs
        self.raw = DirectRedis(self.client) if usable(self.client) else _raw_client(self.client)
        db = host.state.db
        fresh = db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (TABLE,)).fetchone() is None
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT PRIMARY KEY, type TEXT NOT NULL, value TEXT NOT NULL, "
            "expire_at_ms INTEGER)"
        )
        host.state.on_save(self.save)
        host.state.on_load(self.reload)  # (a real Redis server, above, is not part of a snapshot)
        if fresh:
            self._seed()
            self.save()
        else:
            self._restore()

    # -- the documented operations ------------------------------------------------------------
    @_backend
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        key = self.prefix + args["key"]
        try:
            value = self.raw.execute_command("GET", key)
        except redis.ResponseError:  # a hash, list or set: read it back as a table
            value = self._typed_read(key)[1]
        return {} if value is None else {"value": value}

    @_backend
    def set(self, args: dict[str, Any]) -> None:
        key = args["key"]
        value = _scalar(args["value"])
        self._check_quota(key)
        size = self._admit([(key, new_size("set", [value], 0) or 0)])
        self._run("SET", key, value)
        self._grew(size)

    @_backend
    def delete(self, args: dict[str, Any]) -> None:
        self._run("DEL", args["key"])
        self._forget([args["key"]])

    @_backend
    def list(self, args: dict[str, Any]) -> dict[str, Any]:
        count = args.get("count", MAX_COUNT)
        if not 1 <= count <= MAX_COUNT:
            raise ServiceError(400, f"Keystore.list: count: must be from 1 to {MAX_COUNT}, got {count}")
        cursor = str(args.get("cursor", "0"))
        if not cursor.isdigit():
            raise ServiceError(400, f"Keystore.list: cursor: must be a cursor returned by list, got {cursor!r}")
        pattern = f"{_glob_escape(self.prefix)}*{_glob_escape(args.get('match', ''))}*"
        try:
            next_cursor, keys = self.client.scan(int(cursor), match=pattern, count=count)
        except redis.ResponseError as exc:
            raise ServiceError(400, f"Keystore.list: {exc}") from None
        return {"keys": [k[len(self.prefix):] for k in keys], "cursor": str(next_cursor)}

    @_backend
    def clear(self, args: dict[str, Any]) -> None:
        match = args.get("match")
        if match is None and not self.prefix:
            self.client.flushdb()
        else:
            keys = self._all_keys(match)
            for start in range(0, len(keys), 500):
                self.client.delete(*keys[start:start + 500])
        self._all_dirty = True
        self._sizes_known = False

    @_backend
    def mget(self, args: dict[str, Any]) -> dict[str, Any]:
        keys = _key_list(args["keys"], "Keystore.mget")
        if not keys:
            return {"values": {}}
        values = self.client.execute_command("MGET", *(self.prefix + k for k in keys))
        return {"values": {k: v for k, v in zip(keys, values, strict=False) if v is not None}}

    @_backend
    def mset(self, args: dict[str, Any]) -> None:
        pairs = _pairs(args["kvs"])
        new = [k for k, _ in pairs if not self._exists(k)]
        if new and self._count_keys() + len(set(new)) > self.quota:
            raise _quota_error(self.quota)
        sizes = self._admit([(k, new_size("set", [v], 0) or 0) for k, v in dict(pairs).items()])
        flat: builtins.list[Any] = []
        for key, value in pairs:
            flat += [self.prefix + key, value]
        self.client.execute_command("MSET", *flat)
        self._dirty.update(k for k, _ in pairs)
        self._grew(sizes)

    @_backend
    def mdelete(self, args: dict[str, Any]) -> None:
        keys = _key_list(args["keys"], "Keystore.mdelete")
        if keys:
            self.client.execute_command("DEL", *(self.prefix + k for k in keys))
            self._dirty.update(keys)
            self._forget(keys)

    @_backend
    def info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"quota": {"keys": self.quota}, "usage": {"keys": self._count_keys()}}

    @_backend
    def command(self, args: dict[str, Any]) -> dict[str, Any]:
        verb = args["command"].strip().lower()
        creates = VERBS.get(verb)
        if creates is None:
            raise ServiceError(400, f"Keystore.command: command {args['command']!r} is not supported "
                                    "(see docs/services/keystore.md for the verbs)")
        extra = []
        for item in args.get("args") or []:
            if isinstance(item, (Mapping, list)):
                raise ServiceError(400, "Keystore.command: args: must be an array of strings, numbers or booleans")
            extra.append(_scalar(item))
        key = args["key"]
        check_offsets(verb, extra, self.max_value)
        if creates:
            self._check_quota(key)
        sizes = self._admit_command(verb, key, extra)
        value = self._run(verb.upper(), key, *extra)
        if verb == "del":
            self._forget([key])
        else:
            self._grew(sizes)
        return {} if value is None else {"value": value}

    # -- lifetime --------------------------------------------------------------------------------
    def reset(self) -> None:
        if not (self.url or self._written or self._dirty or self._all_dirty) and self._seeded == self._seed_setting():
            return  # the store holds its seed, and the state its rows
        if self.prefix:
            keys = self._all_keys(None)
            for start in range(0, len(keys), 500):
                self.client.delete(*keys[start:start + 500])
        else:
            self.client.flushdb()
        self._seed()
        self._all_dirty = True
        self._sizes_known = False
        if not self.url:
            self.save()
        self._written = False

    def close(self) -> None:
        if isinstance(self.raw, DirectRedis):
            self.raw.close()
        self.client.close()

    # -- the view for fixtures and yaml cases -------------------------------------------------
    def read(self, key: str) -> Any:
        """A key's value as a script would see it (None when absent)."""
        return self.get({"key": key}).get("value")

    def write(self, key: str, value: Any) -> None:
        self.set({"key": key, "value": value})
        self.host.state.save()

    def remove(self, key: str) -> None:
        self.delete({"key": key})
        self.host.state.save()

    def keys(self) -> builtins.list[str]:
        return sorted(k[len(self.prefix):] for k in self._all_keys(None))

    # -- persistence (embedded store) -----------------------------------------------------------
    def save(self) -> None:
        """Copy the keys changed since the last save into the state (typed reads, with their expiry)."""
        if self.url or not (self._dirty or self._all_dirty):
            return
        self._written = True
        keys = self.client.keys("*") if self._all_dirty else sorted(self._dirty)
        now_ms = round(self.host.now() * 1000)
        rows, gone, others = [], [], []
        # Plain strings (most keys) are read straight from the embedded database's items: a save then
        # costs no Redis command. Every other type goes through pipelined typed reads.
        items = self._db._dict if self._db is not None else {}
        for key in keys:
            item = items.get(key.encode() if isinstance(key, str) else key)
            if item is None or not isinstance(item.value, bytes):
                others.append(key)
            elif item.expireat is not None and item.expireat * 1000 <= now_ms:
                gone.append((key,))
            else:
                expire_at = round(item.expireat * 1000) if item.expireat is not None else None
                rows.append((key, "string", json.dumps(item.value.decode("utf-8", "replace")), expire_at))
        keys = others
        for start in range(0, len(keys), 1000):  # pipelined: a few round trips, not three per key
            batch = keys[start:start + 1000]
            meta = self.raw.pipeline(transaction=False)
            for key in batch:
                meta.execute_command("TYPE", key)
                meta.execute_command("PTTL", key)
            replies = meta.execute()
            kinds, ttls = replies[::2], replies[1::2]
            reads = self.raw.pipeline(transaction=False)
            for key, kind in zip(batch, kinds, strict=True):
                reads.execute_command(*_READ.get(kind, ("EXISTS",)), key, *_READ_ARGS.get(kind, ()))
            values = reads.execute()
            for key, kind, ttl, value in zip(batch, kinds, ttls, values, strict=True):
                if kind not in _READ:
                    gone.append((key,))
                    continue
                kind, value = _stored(kind, value)
                if kind == "geo":
                    positions = self.raw.execute_command("GEOPOS", key, *(m for m, _ in value))
                    value = [[m, *map(str, pos)] for (m, _), pos in zip(value, positions, strict=True)]
                rows.append((key, kind, json.dumps(value), now_ms + ttl if ttl >= 0 else None))
        with self.host.state.transaction() as db:
            if self._all_dirty:
                db.execute(f"DELETE FROM {TABLE}")
            db.executemany(f"DELETE FROM {TABLE} WHERE key = ?", gone)
            db.executemany(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?)", rows)
        self._dirty.clear()
        self._all_dirty = False

    def reload(self) -> None:
        """State.reloaded(): what the table holds now (a snapshot load) replaces what fakeredis held."""
        self.client.flushdb()
        self._dirty.clear()
        self._all_dirty = False
        self._sizes_known = False
        self._restore()

    def _restore(self) -> None:
        now_ms = round(self.host.now() * 1000)
        pipe = self.client.pipeline(transaction=False)
        for key, kind, raw, expire_at in self.host.state.db.execute(f"SELECT * FROM {TABLE}"):
            if expire_at is not None and expire_at <= now_ms:
                continue
            value = json.loads(raw)
            if kind == "string":
                pipe.set(key, value)
            elif kind == "hash":
                pipe.hset(key, mapping=value)
            elif kind == "list":
                pipe.rpush(key, *value)
            elif kind == "set":
                pipe.sadd(key, *value)
            elif kind == "zset":
                pipe.execute_command("ZADD", key, *(x for member, score in value for x in (score, member)))
            elif kind == "geo":
                pipe.execute_command("GEOADD", key, *(x for member, lon, lat in value for x in (lon, lat, member)))
            if expire_at is not None:
                pipe.pexpireat(key, expire_at)
        pipe.execute()

    # -- helpers ------------------------------------------------------------------------------------
    def _run(self, verb: str, key: str, *args: Any) -> Any:
        try:
            value = self.raw.execute_command(verb, self.prefix + key, *args)
        except redis.ResponseError as exc:
            raise ServiceError(400, f"Keystore.command: {exc}") from None
        except TypeError as exc:
            # fakeredis checks some commands' arity by calling its method; Redis answers a wrong count with an error
            if "positional argument" not in str(exc):
                raise
            raise ServiceError(400, f"Keystore.command: wrong number of arguments for '{verb.lower()}'") from None
        self._dirty.add(key)
        if verb == "HGETALL":  # a hash comes back as a table, as Keystore.get gives it
            return _as_dict(value)
        return value

    def _typed_read(self, key: str) -> tuple[str, Any]:
        kind = self.raw.execute_command("TYPE", key)
        if kind not in _READ:
            return kind, None
        return _stored(kind, self.raw.execute_command(*_READ[kind], key, *_READ_ARGS.get(kind, ())))

    def _exists(self, key: str) -> bool:
        if self._db is not None:
            return key.encode() in self._db  # no round trip: this runs before every write
        return bool(self.client.exists(self.prefix + key))

    def _count_keys(self) -> int:
        if self._db is not None:
            return len(self._db)
        return len(self._all_keys(None))

    def _check_quota(self, key: str) -> None:
        if not self._exists(key) and self._count_keys() >= self.quota:
            raise _quota_error(self.quota)

    # -- size bounds (checked before Redis runs anything; keystore_sizes.py has the rules) -------------
    def _admit_command(self, verb: str, key: str, args: builtins.list[str]) -> builtins.list[tuple[str, int]]:
        """Refuse a command whose key or reply would pass the value bound, or the store the byte quota."""
        self._know_sizes()
        current = self._sizes.get(key, 0)
        if result_bound(verb, args, current) > self.max_value:
            current = self._remeasure(key)
            if result_bound(verb, args, current) > self.max_value:
                raise ServiceError(413, f"Keystore.command: {verb}: the reply would pass the value size bound "
                                        f"({self.max_value} bytes)")
        size = new_size(verb, args, current)
        if size is None:
            return []
        if size > self.max_value and key in self._sizes:  # the estimate may be stale: measure once
            current = self._remeasure(key)
            size = new_size(verb, args, current) or 0
        return self._admit([(key, size)])

    def _admit(self, sizes: builtins.list[tuple[str, int]]) -> builtins.list[tuple[str, int]]:
        """The keys' sizes after a write, refused over the value bound or the byte quota."""
        self._know_sizes()
        for key, size in sizes:
            if size > self.max_value:
                raise ServiceError(413, f"Keystore: the value of {key!r} would be {size} bytes; a value holds at "
                                        f"most {self.max_value} (services.keystore.max_value_bytes)")
        if self._after(sizes) > self.quota_bytes:
            self._recount()  # estimates are upper bounds: the exact count may leave room
            if self._after(sizes) > self.quota_bytes:
                raise ServiceError(403, f"Keystore: byte quota reached ({self.quota_bytes} bytes); delete keys or "
                                        "raise services.keystore.quota_bytes")
        return sizes

    def _after(self, sizes: builtins.list[tuple[str, int]]) -> int:
        return self._total + sum(size - self._sizes.get(key, 0) for key, size in sizes)

    def _grew(self, sizes: builtins.list[tuple[str, int]]) -> None:
        for key, size in sizes:
            self._total += size - self._sizes.get(key, 0)
            self._sizes[key] = size

    def _forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._total -= self._sizes.pop(key, 0)

    def _know_sizes(self) -> None:
        if not self._sizes_known:
            self._recount()

    def _remeasure(self, key: str) -> int:
        size = entry_size(*self._typed_read(self.prefix + key))
        self._grew([(key, size)])
        return size

    def _recount(self) -> None:
        """Every key's exact size (pipelined typed reads): at the first write, after clear/reset/an outage,
        and when an estimate nears the byte quota."""
        self._sizes, self._total = {}, 0
        keys = self._all_keys(None)
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            kinds = self.raw.pipeline(transaction=False)
            for key in batch:
                kinds.execute_command("TYPE", key)
            reads = self.raw.pipeline(transaction=False)
            types = [str(kind) for kind in kinds.execute()]
            for key, kind in zip(batch, types, strict=True):
                reads.execute_command(*_READ.get(kind, ("EXISTS",)), key, *_READ_ARGS.get(kind, ()))
            for key, kind, value in zip(batch, types, reads.execute(), strict=True):
                if kind in _READ:
                    self._grew([(key[len(self.prefix):], entry_size(*_stored(kind, value)))])
        self._sizes_known = True

    def _unavailable(self) -> ServiceError:
        return ServiceError(503, "Keystore: the Redis server is unavailable (services.keystore.url); "
                                 "retry later", "ServerError")

    def _all_keys(self, match: str | None) -> builtins.list[str]:
        pattern = f"{_glob_escape(self.prefix)}*{_glob_escape(match or '')}*"
        return list(self.client.scan_iter(match=pattern, count=1000))

    def _seed_setting(self) -> Any:
        return self.host.settings.get("seed") or {}

    def _seed(self) -> None:
        seed = self._seed_setting()
        if not isinstance(seed, Mapping):
            raise ServiceError(500, "services.keystore.seed: must map keys to values")
        for key, value in seed.items():
            self.client.set(self.prefix + str(key), _scalar(value))
        self._seeded = copy.deepcopy(seed)
        self._all_dirty = True


def _deadline_connection(base: type[Any], deadline: Callable[[], float | None]) -> type[Any]:
    """A redis-py connection class whose connect and read timeouts never pass the calling execution's
    deadline (ServiceHost.deadline, time.monotonic()), so a slow Redis cannot hold a call past it."""

    def within(timeout: float | None) -> float | None:
        end = deadline()
        if end is None:
            return timeout
        left = max(end - time.monotonic(), 0.001)
        return left if timeout is None else min(timeout, left)

    class DeadlineConnection(base):  # type: ignore[misc, valid-type]
        @property
        def socket_timeout(self) -> float | None:
            return within(self._socket_timeout)

        @socket_timeout.setter
        def socket_timeout(self, value: float | None) -> None:
            self._socket_timeout = value

        @property
        def socket_connect_timeout(self) -> float | None:
            return within(self._socket_connect_timeout)

        @socket_connect_timeout.setter
        def socket_connect_timeout(self, value: float | None) -> None:
            self._socket_connect_timeout = value

        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            if self._sock is not None:  # reads then wait at most what is left too
                self._sock.settimeout(self.socket_timeout)
            super().send_packed_command(command, check_health)

    return DeadlineConnection


def _positive(settings: Mapping[str, Any], name: str, default: float) -> Any:
    value = settings.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"services.keystore.{name}: must be a positive number, got {value!r}")
    return value


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _quota_error(quota: int) -> ServiceError:
    return ServiceError(403, f"Keystore: key count quota reached ({quota} keys); delete keys or raise "
                             "services.keystore.quota_keys")


def _scalar(value: Any) -> str:
    """A Lua value as Redis stores it: numbers without a trailing .0, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    raise ServiceError(400, f"Keystore: value must be a string, number or boolean, got {type(value).__name__}")


def _is_float(text: Any) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _as_dict(reply: Any) -> dict[Any, Any]:
    """A map reply as a dict: RESP3 gives a map (or pairs), RESP2 a flat list."""
    if isinstance(reply, dict):
        return reply
    if reply and isinstance(reply[0], (list, tuple)):
        return {pair[0]: pair[1] for pair in reply}
    return dict(zip(reply[::2], reply[1::2], strict=False))


def _raw_client(client: redis.Redis) -> redis.Redis:
    """A client on the same connections that hands back Redis's replies as they are (no redis-py
    callbacks: EXPIRE answers 1, not True; SET answers OK)."""
    raw = redis.Redis(connection_pool=client.connection_pool)
    raw.response_callbacks.clear()  # this client's own table: no callbacks at all
    return raw


def _key_list(keys: Iterable[Any], label: str) -> builtins.list[str]:
    out = []
    for key in keys:
        if not isinstance(key, str) or not 1 <= len(key) <= 200:
            raise ServiceError(400, f"{label}: keys: each key must be a string of 1 to 200 characters")
        out.append(key)
    return out


def _pairs(kvs: Any) -> builtins.list[tuple[str, str]]:
    if isinstance(kvs, Mapping):
        items = list(kvs.items())
    elif isinstance(kvs, list) and len(kvs) % 2 == 0:
        items = list(zip(kvs[::2], kvs[1::2], strict=False))
    else:
        raise ServiceError(400, "Keystore.mset: kvs: must be a table {key = value} or an array {k1, v1, k2, v2}")
    if not items:
        raise ServiceError(400, "Keystore.mset: kvs: is empty")
    keys = _key_list([k for k, _ in items], "Keystore.mset")
    return [(k, _scalar(v)) for k, (_, v) in zip(keys, items, strict=False)]


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _default_prefix(host: ServiceHost) -> str:
    source = str(getattr(getattr(host.platform, "config", None), "source", "") or "")
    return f"murano-sim:{hashlib.sha1(source.encode()).hexdigest()[:10]}:"
