"""Device2: device identities, their resource state and tags, provisioning and the device events.

The rules live here; the device HTTP API (device_api.py) only parses and formats around the
public methods below the operations (activate, authenticate, data_in, read_set, wait_set).
Identities, state and tags are tables in the solution's State; a device token is kept only as a
SHA-256 digest. Timestamps in results and events are microseconds on the solution's clock.
"""

from __future__ import annotations

import fnmatch
import hashlib
import ipaddress
import itertools
import json
import math
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .. import ServiceError, ServiceHost
from ..bounds import DEFAULT_QUOTA_BYTES, ByteQuota, check_size, positive_setting, row_bytes, table_bytes

EVENT_TYPES = ("data_in", "data_out", "connect", "disconnect", "provisioned", "deleted")
FORMATS = ("number", "string", "boolean")
MAX_STRING_BYTES = 64 * 1024  # Murano: a string resource holds up to 64 KB of UTF-8
DEFAULT_LIST_LIMIT = 1000
# Not in Murano's documentation: murano-sim's choices (docs/services/device2.md).
MAX_NAME_BYTES = 255  # an identity, a tag name
MAX_TAG_VALUE_BYTES = 1024
MAX_LONG_POLL_SECONDS = 300.0  # the device API's Request-Timeout cap (300000 ms)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS device2_identity (identity TEXT PRIMARY KEY, auth_type TEXT, token_hash TEXT, "
    "locked INTEGER NOT NULL DEFAULT 0, reprovision INTEGER NOT NULL DEFAULT 0, online INTEGER NOT NULL DEFAULT 0, "
    "lastip TEXT, lastseen INTEGER, created INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS device2_state (identity TEXT NOT NULL, alias TEXT NOT NULL, reported TEXT, "
    "reported_at INTEGER, set_value TEXT, set_at INTEGER, PRIMARY KEY (identity, alias))",
    "CREATE TABLE IF NOT EXISTS device2_tag (identity TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, "
    "PRIMARY KEY (identity, name, value))",
    "CREATE TABLE IF NOT EXISTS device2_resource (alias TEXT PRIMARY KEY, definition TEXT NOT NULL)",
    # authenticate() finds the identity by its token's digest on every device request: no table scan
    "CREATE INDEX IF NOT EXISTS device2_identity_token ON device2_identity (token_hash)",
)
_TABLES = ("device2_identity", "device2_state", "device2_tag", "device2_resource")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Device2:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        self._changed = threading.Condition()  # set values changed: wakes the device API's long polls
        self._writes = itertools.count(1)
        self._set_versions: dict[tuple[str | None, str], int] = {}
        # Called with (identity, values, µs) after setIdentityState: the MQTT port delivers them to devices.
        self.set_listeners: list[Callable[[str, dict[str, Any], int], None]] = []
        # Live connections per identity and protocol ("mqtt"; "http" while a long poll waits), for the console.
        self._links: dict[str, Counter[str]] = {}
        self._links_lock = threading.Lock()
        # Called after a reset or a snapshot load replaced every identity: the MQTT port drops its devices.
        self.replaced_listeners: list[Callable[[], None]] = []
        self._stored_resources: dict[str, Any] | None = None  # device2_resource's rows, decoded (resources())
        host.state.on_load(self._replaced)
        # Identities, their state and tags: per solution, so a loop of addIdentity or data_in cannot fill the machine.
        limit = positive_setting(host.settings, "device2", "quota_bytes", DEFAULT_QUOTA_BYTES)
        self.quota = ByteQuota("Device2", limit, "services.device2.quota_bytes",
                               lambda: table_bytes(host.state, _TABLES))
        with host.state.transaction() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    def reset(self) -> None:
        with self._links_lock:
            self._links.clear()
        with self.host.state.transaction() as db:
            for table in _TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        self._replaced()

    def _replaced(self) -> None:
        """Every identity was replaced (reset, snapshot load): counts and the connected devices follow."""
        self._stored_resources = None
        self.quota.forget()
        self._bump()
        for listener in self.replaced_listeners:
            listener()

    # -- time and events -----------------------------------------------------------------------
    def _now_us(self) -> int:
        return int(round(self.host.now() * 1_000_000))

    def _emit(self, event_type: str, identity: str, payload: Any = None, *, ip: str | None = None,
              connection_id: str | None = None, timestamp: int | None = None) -> None:
        wanted = (self.host.parameters.get("events") or {}).get("types")
        if isinstance(wanted, list) and event_type not in wanted:
            return
        self.host.emit(event_type, {
            "type": event_type, "identity": identity, "timestamp": timestamp or self._now_us(),
            "ip": ip, "connection_id": connection_id or uuid.uuid4().hex, "payload": payload,
        })

    def _bump(self, identity: str | None = None, aliases: Iterable[str] = ()) -> None:
        """Set values changed: wake the long polls (each (identity, alias) counts its writes)."""
        with self._changed:
            for alias in aliases:
                self._set_versions[(identity, alias)] = next(self._writes)
            self._changed.notify_all()

    # -- resources -----------------------------------------------------------------------------
    def resources(self) -> dict[str, dict[str, Any]]:
        """The resource definitions: the solution's services/device2.yaml plus addGatewayResource's."""
        defined = {str(k): dict(v or {}) for k, v in (self.host.parameters.get("resources") or {}).items()}
        stored = self._stored_resources
        if stored is None:  # read once per change: every device write asks (reset and snapshot loads forget it)
            rows = self.host.state.db.execute("SELECT alias, definition FROM device2_resource")
            stored = self._stored_resources = {alias: json.loads(definition) for alias, definition in rows}
        defined.update({alias: dict(definition) for alias, definition in stored.items()})
        return defined

    def _resource(self, alias: str, resources: Mapping[str, Any]) -> dict[str, Any] | None:
        """A resource's definition; with no resources defined at all, any alias is an open string
        resource (many solutions define their resources in the product, not in the solution)."""
        if alias in resources:
            return resources[alias]
        return None if resources else {"format": "string", "settable": True}

    # -- identities ----------------------------------------------------------------------------
    def _row(self, identity: str) -> tuple[Any, ...]:
        row = self.host.state.db.execute(
            "SELECT identity, auth_type, token_hash, locked, reprovision, online, lastip, lastseen, created "
            "FROM device2_identity WHERE identity = ?", (identity,)).fetchone()
        if row is None:
            raise _not_found(identity)
        return row

    def _insert(self, db: Any, identity: str, auth: Any, locked: Any) -> None:
        if db.execute("SELECT 1 FROM device2_identity WHERE identity = ?", (identity,)).fetchone():
            raise ServiceError(409, f"identity {identity!r} already exists")
        check_size("Device2", "identity", identity, MAX_NAME_BYTES)
        auth_type, token_hash = _auth_fields(auth)
        resources = self.resources()
        initial = {alias: json.dumps(_conform(alias, definition, definition["initial"]))
                   for alias, definition in resources.items()
                   if definition.get("settable") and definition.get("initial") is not None}
        self.quota.charge(row_bytes(identity, auth_type, token_hash, 0, 0, 0, None, None, self._now_us())
                          + sum(row_bytes(identity, alias, value, self._now_us()) for alias, value in initial.items()))
        db.execute("INSERT INTO device2_identity (identity, auth_type, token_hash, locked, created) "
                   "VALUES (?, ?, ?, ?, ?)", (identity, auth_type, token_hash, int(bool(locked)), self._now_us()))
        for alias, value in initial.items():
            db.execute("INSERT INTO device2_state (identity, alias, set_value, set_at) VALUES (?, ?, ?, ?)",
                       (identity, alias, value, self._now_us()))

    def addIdentity(self, args: dict[str, Any]) -> None:  # noqa: N802 - Murano's operation names
        with self.host.state.transaction() as db:
            self._insert(db, args["identity"], args.get("auth"), args.get("locked"))

    def addIdentities(self, args: dict[str, Any]) -> None:  # noqa: N802
        items = [_identity_item(item, "identities") for item in args["identities"]]
        with self.host.state.transaction() as db:
            for item in items:
                self._insert(db, item["identity"], item.get("auth"), item.get("locked"))

    def makeIdentity(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        identity = self._generated_identity()
        with self.host.state.transaction() as db:
            self._insert(db, identity, args.get("auth"), args.get("locked"))
        return {"identity": identity}

    def _update(self, db: Any, item: Mapping[str, Any]) -> None:
        self._row(item["identity"])
        if item.get("auth") is not None:
            auth_type, token_hash = _auth_fields(item["auth"])
            db.execute("UPDATE device2_identity SET auth_type = ?, token_hash = ? WHERE identity = ?",
                       (auth_type, token_hash, item["identity"]))
        for column in ("locked", "reprovision"):
            if item.get(column) is not None:
                db.execute(f"UPDATE device2_identity SET {column} = ? WHERE identity = ?",  # noqa: S608
                           (int(bool(item[column])), item["identity"]))

    def updateIdentity(self, args: dict[str, Any]) -> None:  # noqa: N802
        with self.host.state.transaction() as db:
            self._update(db, args)

    def updateIdentities(self, args: dict[str, Any]) -> None:  # noqa: N802
        items = [_identity_item(item, "identities") for item in args["identities"]]
        with self.host.state.transaction() as db:
            for item in items:
                self._update(db, item)

    def removeIdentity(self, args: dict[str, Any]) -> None:  # noqa: N802
        identity = args["identity"]
        with self.host.state.transaction() as db:
            self._row(identity)
            for table in ("device2_identity", "device2_state", "device2_tag"):
                db.execute(f"DELETE FROM {table} WHERE identity = ?", (identity,))  # noqa: S608
        self._bump()
        self._emit("deleted", identity)

    def _state(self, identity: str) -> dict[str, Any]:
        """The identity's state: its resources only (a device's value for an alias that is not one is kept
        for the device to read back, not shown to the solution)."""
        state: dict[str, Any] = {}
        resources = self.resources()
        for alias, reported, reported_at, set_value, set_at in self.host.state.db.execute(
                "SELECT alias, reported, reported_at, set_value, set_at FROM device2_state WHERE identity = ? "
                "ORDER BY alias", (identity,)):
            if self._resource(alias, resources) is None:
                continue
            entry: dict[str, Any] = {"timestamp": max(reported_at or 0, set_at or 0)}
            if reported is not None:
                entry["reported"] = json.loads(reported)
            if set_value is not None:
                entry["set"] = json.loads(set_value)
            state[alias] = entry
        return state

    def _tags(self, identity: str, name: str | None = None) -> list[dict[str, str]]:
        query = "SELECT name, value FROM device2_tag WHERE identity = ?"
        params: tuple[Any, ...] = (identity,)
        if name is not None:
            query, params = query + " AND name = ?", (identity, name)
        return [{"name": n, "value": v} for n, v in self.host.state.db.execute(query + " ORDER BY name, value", params)]

    def _describe(self, row: tuple[Any, ...]) -> dict[str, Any]:
        identity, auth_type, token_hash, locked, reprovision, online, lastip, lastseen, created = row
        return {
            "identity": identity, "status": _status(token_hash, locked, reprovision),
            "auth": {"type": auth_type} if auth_type else {}, "locked": bool(locked),
            "reprovision": bool(reprovision), "online": bool(online), "lastip": lastip, "lastseen": lastseen,
            "created": created, "state": self._state(identity), "tags": self._tags(identity),
        }

    def getIdentity(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._describe(self._row(args["identity"]))

    def getIdentityState(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self._row(args["identity"])
        return self._state(args["identity"])

    def setIdentityState(self, args: dict[str, Any]) -> None:  # noqa: N802
        identity = args["identity"]
        values = {k: v for k, v in args.items() if k != "identity"}
        resources = self.resources()
        checked: dict[str, Any] = {}
        for alias, value in values.items():
            definition = self._resource(alias, resources)
            if definition is None:
                raise ServiceError(400, f"{alias}: no such resource (define it under resources in device2.yaml)")
            if not definition.get("settable"):
                raise ServiceError(400, f"{alias}: the resource is not settable")
            checked[alias] = _conform(alias, definition, value)
        now = self._now_us()
        encoded = {alias: json.dumps(value) for alias, value in checked.items()}
        self._charge_state(identity, encoded, now)
        with self.host.state.transaction() as db:
            self._row(identity)
            for alias, text in encoded.items():
                db.execute("INSERT INTO device2_state (identity, alias, set_value, set_at) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT(identity, alias) DO UPDATE SET set_value = excluded.set_value, "
                           "set_at = excluded.set_at", (identity, alias, text, now))
        self._bump(identity, checked)
        for listener in list(self.set_listeners):
            listener(identity, checked, now)
        # chosen: data_out carries what was set, in data_in's shape
        self._emit("data_out", identity, [{"timestamp": now, "values": checked}], timestamp=now)

    def _charge_state(self, identity: str, encoded: Mapping[str, str], now: int, *, reported: bool = False) -> None:
        """Charge state rows about to be written, their values as JSON text (the whole new row: an upper
        bound when it replaces one)."""
        self.quota.charge(sum(row_bytes(identity, alias, text, now, text if reported else None, now)
                              for alias, text in encoded.items()))

    # -- listing -------------------------------------------------------------------------------
    def _matching(self, args: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        rows = self.host.state.db.execute(
            "SELECT identity, auth_type, token_hash, locked, reprovision, online, lastip, lastseen, created "
            "FROM device2_identity ORDER BY identity").fetchall()
        pattern = args.get("identity")
        wanted_tags = [_tag_pair(t, "tags") for t in args.get("tags") or []]
        if args.get("tag"):
            wanted_tags.append(_tag_pair(args["tag"], "tag"))
        out = []
        for row in rows:
            globbed = pattern and "*" in pattern and fnmatch.fnmatchcase(row[0], pattern)
            if pattern and not (row[0].startswith(pattern) or globbed):
                continue
            if args.get("status") and _status(row[2], row[3], row[4]) != args["status"]:
                continue
            if wanted_tags:
                have = {(t["name"], t["value"]) for t in self._tags(row[0])}
                if not all(pair in have for pair in wanted_tags):
                    continue
            out.append(row)
        return out

    def listIdentities(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        offset = max(0, args.get("offset") or 0)
        limit = args.get("limit")
        limit = DEFAULT_LIST_LIMIT if limit is None or limit <= 0 else limit
        rows = self._matching(args)
        return {"devices": [self._describe(row) for row in rows[offset:offset + limit]]}

    def countIdentities(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        counts = {"total": 0, "whitelisted": 0, "provisioned": 0, "locked": 0, "reprovision": 0}
        for row in self._matching(args):
            counts["total"] += 1
            counts[_status(row[2], row[3], row[4])] += 1
        return counts

    # -- tags ----------------------------------------------------------------------------------
    def addIdentityTag(self, args: dict[str, Any]) -> None:  # noqa: N802
        pairs = [_tag_pair(t, "tags") for t in args.get("tags") or []]
        if args.get("name") is not None:
            pairs.append(_tag_pair({"name": args["name"], "value": args.get("value")}, "name"))
        if not pairs:
            raise ServiceError(400, "tags: give {{name = ..., value = ...}, ...} or name and value")
        identity = args["identity"]
        for name, value in pairs:
            check_size("Device2", "tag name", name, MAX_NAME_BYTES)
            check_size("Device2", f"tag {name}", value, MAX_TAG_VALUE_BYTES)
        self.quota.charge(sum(row_bytes(identity, name, value) for name, value in pairs))
        with self.host.state.transaction() as db:
            self._row(identity)
            if args.get("replace"):
                for name in {n for n, _ in pairs}:
                    db.execute("DELETE FROM device2_tag WHERE identity = ? AND name = ?", (identity, name))
            for name, value in pairs:
                db.execute("INSERT OR IGNORE INTO device2_tag VALUES (?, ?, ?)", (identity, name, value))

    def removeIdentityTag(self, args: dict[str, Any]) -> None:  # noqa: N802
        identity = args["identity"]
        with self.host.state.transaction() as db:
            self._row(identity)
            if args.get("value") is None:
                db.execute("DELETE FROM device2_tag WHERE identity = ? AND name = ?", (identity, args["name"]))
            else:
                db.execute("DELETE FROM device2_tag WHERE identity = ? AND name = ? AND value = ?",
                           (identity, args["name"], _tag_value(args["value"])))

    def getIdentityTag(self, args: dict[str, Any]) -> list[dict[str, str]]:  # noqa: N802
        self._row(args["identity"])
        return self._tags(args["identity"], args.get("name"))

    def listTagName(self, args: dict[str, Any]) -> list[str]:  # noqa: N802
        return [v for (v,) in self.host.state.db.execute(
            "SELECT DISTINCT value FROM device2_tag WHERE name = ? ORDER BY value", (args["name"],))]

    def listTagNames(self, args: dict[str, Any]) -> list[str]:  # noqa: N802
        return [n for (n,) in self.host.state.db.execute("SELECT DISTINCT name FROM device2_tag ORDER BY name")]

    # -- the gateway ---------------------------------------------------------------------------
    def getGatewaySettings(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        p = self.host.parameters
        return {key: p.get(key) or {} for key in ("protocol", "provisioning", "identity_format", "events")}

    def getGatewayResource(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        resources = self.resources()
        alias = args.get("alias")
        if alias is None:
            return resources
        if alias not in resources:
            raise ServiceError(404, f"resource {alias!r} not found")
        return {"alias": alias, **resources[alias]}

    def addGatewayResource(self, args: dict[str, Any]) -> None:  # noqa: N802
        alias = args["alias"]
        if alias in self.resources():
            raise ServiceError(409, f"resource {alias!r} already exists")
        definition: dict[str, Any] = {
            k: args[k] for k in ("format", "unit", "allowed", "settable", "initial") if k in args
        }
        definition.setdefault("format", "string")
        if definition.get("initial") is not None:
            if not definition.get("settable"):
                raise ServiceError(400, "initial: only a settable resource has an initial value")
            _conform(alias, definition, definition["initial"])
        check_size("Device2", "alias", alias, MAX_NAME_BYTES)
        self.quota.charge(row_bytes(alias, json.dumps(definition)))
        try:
            with self.host.state.transaction() as db:
                db.execute("INSERT INTO device2_resource VALUES (?, ?)", (alias, json.dumps(definition)))
        finally:
            self._stored_resources = None

    # -- what devices do (the device HTTP API and the test fixtures call these) ----------------
    def activate(self, identity: str, ip: str | None = None) -> str:
        """Provision `identity` and return its new token (shown once; only its digest is kept)."""
        settings = self.host.parameters.get("provisioning") or {}
        if not settings.get("enabled", True):
            raise ServiceError(403, "provisioning is disabled (provisioning.enabled)")
        auth_type = settings.get("auth_type", "token")
        if auth_type != "token":
            raise ServiceError(403, f"provisioning.auth_type {auth_type!r} is not emulated; use token")
        if not _ip_allowed(ip, settings.get("ip_whitelisting") or {}):
            raise ServiceError(403, f"{ip}: not in provisioning.ip_whitelisting.allowed")
        problem = _identity_format_problem(identity, self.host.parameters.get("identity_format") or {})
        if problem:
            raise ServiceError(400, f"identity {identity!r} {problem}")
        token = secrets.token_hex(20)
        with self.host.state.transaction() as db:
            row = db.execute("SELECT token_hash, reprovision FROM device2_identity WHERE identity = ?",
                             (identity,)).fetchone()
            if row is None:
                if not settings.get("generate_identity", True):
                    raise ServiceError(404, f"identity {identity!r} is not whitelisted")
                self._insert(db, identity, None, False)
            elif row[0] and not row[1]:
                raise ServiceError(409, f"identity {identity!r} is already provisioned")
            db.execute("UPDATE device2_identity SET auth_type = 'token', token_hash = ?, reprovision = 0, "
                       "lastip = ?, lastseen = ? WHERE identity = ?",
                       (token_digest(token), ip, self._now_us(), identity))
        self._emit("provisioned", identity, ip=ip)
        return token

    def authenticate(self, token: str | None) -> str:
        """The identity a token belongs to: 401 for none or a wrong one, 403 for a locked identity."""
        if not token:
            raise ServiceError(401, "missing device token (X-Exosite-CIK)")
        row = self.host.state.db.execute("SELECT identity, locked FROM device2_identity WHERE token_hash = ?",
                                         (token_digest(token),)).fetchone()
        if row is None:
            raise ServiceError(401, "invalid device token")
        if row[1]:
            raise ServiceError(403, f"identity {row[0]!r} is locked")
        return row[0]

    def data_in(self, identity: str, values: Mapping[str, Any], *, ip: str | None = None,
                connection_id: str | None = None) -> dict[str, Any]:
        """A device reports values: defined resources keep them as `reported` and `set`, other aliases as
        `reported` (what the device reads back); every alias reaches the solution in the data_in event.
        Returns the event's values.

        Stored and handled in one turn of the solution (ServiceHost.turn), whoever writes (the HTTP and
        MQTT device APIs, the fixtures, the console): a running execution never sees the value land
        without its handler's work, and under many writing devices each write waits once."""
        with self.host.turn():
            now = self._now_us()
            checked = self._store(identity, now, values, ip)
            self._bump(identity, checked)
            self._emit("data_in", identity, [{"timestamp": now, "values": checked}], ip=ip,
                       connection_id=connection_id, timestamp=now)
        return checked

    def record(self, identity: str, entries: Iterable[tuple[float, Mapping[str, Any]]], *, ip: str | None = None,
               connection_id: str | None = None) -> list[dict[str, Any]]:
        """A device records values at their own times (Unix seconds, the device API's `record`): each is
        stored as data_in would (a value older than the one kept does not replace it), and one data_in
        event carries them all, each entry with its own timestamp. Returns the event's payload.
        One transaction for them all: a refused entry leaves none stored (as no event reports them).
        One turn of the solution for the store and the handler, as data_in."""
        payload: list[dict[str, Any]] = []
        written: set[str] = set()
        with self.host.turn():
            with self.host.state.transaction():
                for at, values in sorted(entries, key=lambda entry: entry[0]):
                    at_us = int(round(at * 1_000_000))
                    checked = self._store(identity, at_us, values, ip)
                    written.update(checked)
                    payload.append({"timestamp": at_us, "values": checked})
            if payload:
                self._bump(identity, written)
                self._emit("data_in", identity, payload, ip=ip, connection_id=connection_id)
        return payload

    def _store(self, identity: str, at: int, values: Mapping[str, Any], ip: str | None) -> dict[str, Any]:
        """Keep a device's values written at `at` (µs); returns them checked, as the event carries them.
        The caller wakes the long polls (_bump) once its transaction is over."""
        resources = self.resources()
        checked: dict[str, Any] = {}
        stored: dict[str, Any] = {}
        reported_only: dict[str, Any] = {}
        for alias, value in values.items():
            definition = self._resource(alias, resources)
            if definition is None:
                checked[alias] = reported_only[alias] = value  # not a resource: kept as reported only
                continue
            checked[alias] = stored[alias] = _conform(alias, definition, value)
        encoded = {alias: json.dumps(value) for alias, value in [*stored.items(), *reported_only.items()]}
        self._charge_state(identity, encoded, at, reported=True)
        with self.host.state.transaction() as db:
            # the identity's row first: its rowcount is the existence check (no SELECT per write), and a
            # removed identity's write rolls back before any state row is written
            if not db.execute("UPDATE device2_identity SET lastip = ?, lastseen = ? WHERE identity = ?",
                              (ip, self._now_us(), identity)).rowcount:
                raise _not_found(identity)
            for alias, text in encoded.items():
                set_value = text if alias in stored else None
                # the newer write wins each column: a recorded value older than the kept one stays history
                db.execute(
                    "INSERT INTO device2_state VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(identity, alias) DO UPDATE SET "
                    "reported = CASE WHEN excluded.reported_at >= COALESCE(reported_at, 0) THEN excluded.reported "
                    "ELSE reported END, reported_at = MAX(COALESCE(reported_at, 0), excluded.reported_at), "
                    "set_value = CASE WHEN excluded.set_value IS NOT NULL AND excluded.set_at >= COALESCE(set_at, 0) "
                    "THEN excluded.set_value ELSE set_value END, "
                    "set_at = CASE WHEN excluded.set_value IS NOT NULL THEN MAX(COALESCE(set_at, 0), excluded.set_at) "
                    "ELSE set_at END",
                    (identity, alias, text, at, set_value, at if set_value is not None else None))
        return checked

    def connect(self, identity: str, *, ip: str | None = None, protocol: str | None = None) -> None:
        if protocol:
            self._link(identity, protocol, 1)
        self._presence(identity, True, ip)

    def disconnect(self, identity: str, *, ip: str | None = None, protocol: str | None = None) -> None:
        if protocol:
            self._link(identity, protocol, -1)
        self._presence(identity, False, ip)
        if identity in self.connected():  # another connection of the device is still open
            with self.host.state.transaction() as db:
                db.execute("UPDATE device2_identity SET online = 1 WHERE identity = ?", (identity,))

    def _link(self, identity: str, protocol: str, step: int) -> None:
        with self._links_lock:
            links = self._links.setdefault(identity, Counter())
            links[protocol] += step
            if links[protocol] <= 0:
                del links[protocol]
            if not links:
                del self._links[identity]

    def connected(self) -> dict[str, list[str]]:
        """identity -> the protocols it is connected over now (mqtt; http while a long poll waits)."""
        with self._links_lock:
            return {identity: sorted(links) for identity, links in self._links.items()}

    def _presence(self, identity: str, online: bool, ip: str | None) -> None:
        with self.host.state.transaction() as db:
            self._row(identity)
            db.execute("UPDATE device2_identity SET online = ?, lastip = COALESCE(?, lastip), lastseen = ? "
                       "WHERE identity = ?", (int(online), ip, self._now_us(), identity))
        self._emit("connect" if online else "disconnect", identity, ip=ip)

    def read_set(self, identity: str, aliases: Iterable[str]) -> dict[str, Any]:
        """The latest value (device- or solution-written) of each named alias that has one."""
        self._row(identity)
        out: dict[str, Any] = {}
        for alias in list(aliases):
            latest = self._set_at(identity, alias)
            if latest is not None:
                out[alias] = latest[0]
        return out

    def _set_at(self, identity: str, alias: str) -> tuple[Any, int] | None:
        """(value, µs) of the alias's latest value: `set` (device writes and setIdentityState assign it),
        or `reported` when that is newer or the alias is not a resource (kept as reported only)."""
        with self.host.state.lock:
            row = self.host.state.db.execute(
                "SELECT set_value, set_at, reported, reported_at FROM device2_state WHERE identity = ? AND alias = ?",
                (identity, alias)).fetchone()
        if row is None:
            return None
        set_value, set_at, reported, reported_at = row
        if reported is not None and (set_value is None or (reported_at or 0) > (set_at or 0)):
            return json.loads(reported), reported_at
        return None if set_value is None else (json.loads(set_value), set_at)

    def wait_set(self, identity: str, alias: str, timeout: float, since: float | None = None) -> tuple[Any, int] | None:
        """Long poll: (value, µs) of `alias`'s set value once it changes, or None after `timeout`
        seconds of real time. With `since` (epoch seconds), a value set in a later second counts at
        once; without it, only a write after the call counts."""
        self._row(identity)
        deadline = time.monotonic() + min(max(timeout, 0.0), MAX_LONG_POLL_SECONDS)  # the device's HTTP wait
        key = (identity, alias)
        self._link(identity, "http", 1)  # a long-polling HTTP device is connected while it waits
        try:
            return self._wait(identity, alias, key, deadline, since)
        finally:
            self._link(identity, "http", -1)

    def _wait(self, identity: str, alias: str, key: tuple[str, str], deadline: float,
              since: float | None) -> tuple[Any, int] | None:
        with self._changed:
            start = self._set_versions.get(key, 0)
            while True:
                if since is not None:
                    current = self._set_at(identity, alias)
                    if current is not None and current[1] // 1_000_000 > since:
                        return current
                elif self._set_versions.get(key, 0) != start:
                    return self._set_at(identity, alias)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def _generated_identity(self) -> str:
        fmt = self.host.parameters.get("identity_format") or {}
        kind = str(fmt.get("type") or "uuid")
        length = fmt.get("length")
        if kind == "base10":
            body = str(secrets.randbelow(10 ** int(length or 12))).zfill(int(length or 12))
        elif kind in ("base16", "opaque") or kind.startswith("mac"):
            body = secrets.token_hex(int(length or 12))[: int(length or 12)]
        else:
            body = str(uuid.uuid4())
        return f"{fmt.get('prefix') or ''}{body}"


def _not_found(identity: str) -> ServiceError:
    return ServiceError(404, f"identity {identity!r} not found")


# -- values --------------------------------------------------------------------------------------
def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(type(value), "a table")


def _conform(alias: str, definition: Mapping[str, Any], value: Any) -> Any:
    """A value in its resource's format, within `allowed`; ServiceError(400) otherwise."""
    fmt = definition.get("format") or "string"
    if fmt == "number":
        number: Any = value
        if isinstance(value, str):
            try:
                number = int(value) if re.fullmatch(r"[+-]?\d{1,18}", value.strip()) else float(value)
            except ValueError:
                raise ServiceError(400, f"{alias}: must be a number, got {value[:40]!r}") from None
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise ServiceError(400, f"{alias}: must be a number, got {_kind(value)}")
        value = number
    elif fmt == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            raise ServiceError(400, f"{alias}: must be true or false, got {_kind(value)}")
    else:
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = _number_text(value)
        if not isinstance(value, str):
            raise ServiceError(400, f"{alias}: must be a string, got {_kind(value)}")
        if len(value.encode("utf-8")) > MAX_STRING_BYTES:
            raise ServiceError(400, f"{alias}: a string resource holds at most {MAX_STRING_BYTES} bytes")
    allowed = definition.get("allowed")
    if allowed and not _is_allowed(value, allowed):
        raise ServiceError(400, f"{alias}: {value!r} is not allowed (allowed: {json.dumps(allowed)})")
    return value


def _is_allowed(value: Any, allowed: list[Any]) -> bool:
    """`allowed` lists values, and for numbers [min, max] ranges (inclusive)."""
    for rule in allowed:
        if isinstance(rule, list) and len(rule) == 2 and not isinstance(value, (str, bool)):
            low, high = rule
            if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low <= value <= high:
                return True
        elif rule == value and type(rule) is type(value) or (
                isinstance(rule, (int, float)) and not isinstance(rule, bool)
                and isinstance(value, (int, float)) and not isinstance(value, bool) and rule == value):
            return True
    return False


def number_text(value: Any) -> str:
    """A value as the device API writes it: integral numbers without '.0', booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number_text(value)
    return str(value)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**63 else repr(float(value))


# -- argument shapes -----------------------------------------------------------------------------
def _auth_fields(auth: Any) -> tuple[str | None, str | None]:
    if auth is None or auth == {}:
        return None, None
    if not isinstance(auth, Mapping):
        raise ServiceError(400, "auth: must be a table {key = ..., type = ...}")
    kind = str(auth.get("type") or "token")
    key = auth.get("key")
    if key is not None and not isinstance(key, str):
        raise ServiceError(400, "auth.key: must be a string")
    return kind, token_digest(key) if key else None


def _identity_item(item: Any, where: str) -> dict[str, Any]:
    if isinstance(item, str):
        return {"identity": item}
    if isinstance(item, Mapping) and isinstance(item.get("identity"), str):
        return dict(item)
    raise ServiceError(400, f"{where}: each item must be an identity string or a table with identity")


def _tag_value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ServiceError(400, "tag value: must be a string or a number")
    return value if isinstance(value, str) else _number_text(value)


def _tag_pair(tag: Any, where: str) -> tuple[str, str]:
    if not isinstance(tag, Mapping) or not isinstance(tag.get("name"), str):
        raise ServiceError(400, f"{where}: each tag must be a table {{name = ..., value = ...}}")
    return tag["name"], _tag_value(tag.get("value"))


def _status(token_hash: str | None, locked: int, reprovision: int) -> str:
    if locked:
        return "locked"
    if reprovision:
        return "reprovision"
    return "provisioned" if token_hash else "whitelisted"


def _ip_allowed(ip: str | None, rules: Mapping[str, Any]) -> bool:
    if not rules.get("enabled"):
        return True
    try:
        address = ipaddress.ip_address(ip or "")
        return any(address in ipaddress.ip_network(str(net), strict=False) for net in rules.get("allowed") or [])
    except ValueError:
        return False


_FORMAT_PATTERNS = {"uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                    "base10": r"[0-9]+", "base16": r"[0-9a-fA-F]+"}


def _identity_format_problem(identity: str, fmt: Mapping[str, Any]) -> str | None:
    """Why an identity breaks the configured identity_format, or None."""
    if not identity or len(identity) > 1024:
        return "must be 1 to 1024 characters"
    prefix = str(fmt.get("prefix") or "")
    if not identity.startswith(prefix):
        return f"must start with {prefix!r} (identity_format.prefix)"
    body = identity[len(prefix):]
    kind = str(fmt.get("type") or "opaque")
    pattern = _FORMAT_PATTERNS.get(kind)
    if kind.startswith("mac"):
        pattern = r"[0-9a-fA-F]{2}([:-]?[0-9a-fA-F]{2}){5}"
    if pattern and not re.fullmatch(pattern, body):
        return f"is not a {kind} identity (identity_format.type)"
    length = fmt.get("length")
    if isinstance(length, int) and length > 0 and len(body) != length:
        return f"must be {length} characters after the prefix (identity_format.length)"
    return None
