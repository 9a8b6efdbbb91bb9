"""Device (gateway v1, deprecated): dataports of devices (by serial number) of products (by pid).

Datapoints are kept in the solution's State; each write emits Murano's `datapoint` event
(handler device_datapoint.lua, argument `data`). Time is the solution's clock: datapoints in seconds (the
One Platform's unit), the event's `timestamp` in microseconds.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from .. import ServiceError, ServiceHost
from ..identity import solution_identity

PAGE = 50
LAST_ERA = 2017  # Device v1 was deprecated in August 2017 (MuranoCLI's Config.rb)
# value[1] of a written (not recorded) datapoint: Exosite's handler templates document
# `data.value table{1 = "live"|timestamp, 2 = value}` and their simulators send {'live', value}
LIVE = "live"
DEFAULT_PID = "murano-sim-product"  # no solution identity to ask (a model built outside Services)
_SCHEMA = ("CREATE TABLE IF NOT EXISTS device_datapoint (seq INTEGER PRIMARY KEY AUTOINCREMENT, pid TEXT NOT NULL, "
           "sn TEXT NOT NULL, alias TEXT NOT NULL, ts INTEGER NOT NULL, value TEXT NOT NULL)")


def resource_id(*parts: str) -> str:
    """A stable 40-hex resource id, like the One Platform's rids."""
    return hashlib.sha1("/".join(parts).encode("utf-8")).hexdigest()  # noqa: S324 - an id, not security


class Device:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        with host.state.transaction() as db:
            db.execute(_SCHEMA)
        # A device writing through the device API raised Device v1's `datapoint` in 2016-2017 solutions;
        # the router offers it for Device2's `data_in`, and the solution runs whichever it handles.
        host.subscribe("device2", "data_in", self.datapoints_for)
        # Device v1 kept those datapoints whatever ran: rpcCall read/info and list return them.
        host.observe("device2", "data_in", self.keep_written)

    def _now_us(self) -> int:
        """The event's `timestamp`: the server's reception time in microseconds (docs/services/device.md)."""
        return int(round(self.host.now() * 1_000_000))

    def pid(self) -> str:
        """The product id of the device API's devices: services.device.pid, else the solution's product
        (config.yaml's, a MuranoCLI project's `.murano/config` product.id, else a stable id)."""
        given = self.host.settings.get("pid")
        if given:
            return str(given)
        products = solution_identity(self.host.platform)["products"] if self.host.platform is not None else []
        return str(products[0]) if products else DEFAULT_PID

    def _keeps(self, event: Any) -> bool:
        """Whether this era's Device v1 saw Device2's data_in (2017 and before): asked before `pid()`,
        which every later era's write would pay for nothing."""
        return self.host.era <= LAST_ERA and isinstance(event, Mapping)

    def _written(self, event: Any) -> Iterator[tuple[str, int, str, Any]]:
        """(api, ts in seconds, alias, value) for each value of Device2's data_in (2017 and before)."""
        if not self._keeps(event):
            return
        written_us = event.get("timestamp")
        now = int(self.host.now())
        for entry in event.get("payload") or []:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("values"), Mapping):
                continue
            at_us = entry.get("timestamp")
            # a value recorded at its own time (the device API's `record`) is api = "record"
            api = "record" if isinstance(at_us, int) and at_us != written_us else "write"
            at = at_us // 1_000_000 if isinstance(at_us, int) else now
            for alias, value in entry["values"].items():
                yield api, at, str(alias), value

    def datapoints_for(self, event: Any) -> builtins.list[tuple[str, dict[str, Any]]]:
        """Device2's data_in event as Device v1 `datapoint` events, one per dataport (2017 and before)."""
        found: builtins.list[tuple[str, dict[str, Any]]] = []
        if not self._keeps(event):
            return found
        sn, pid = str(event.get("identity") or ""), self.pid()
        received = event.get("timestamp")
        received_us = received if isinstance(received, int) else self._now_us()
        for api, at, alias, value in self._written(event):
            found.append(("datapoint", {
                "api": api, "pid": pid, "rid": resource_id(pid, sn, alias), "seq": len(found) + 1,
                "alias": alias, "value": [at if api == "record" else LIVE, value], "device_sn": sn,
                "source_ip": event.get("ip"), "timestamp": received_us,
            }))
        return found

    def keep_written(self, event: Any) -> None:
        """Device2's data_in stored as this product's datapoints (2017 and before), as Device v1 kept them."""
        if not self._keeps(event):
            return
        sn, pid = str(event.get("identity") or ""), self.pid()
        rows = [(pid, sn, alias, at, json.dumps(value)) for _, at, alias, value in self._written(event)]
        if rows:
            with self.host.state.transaction() as db:
                db.executemany("INSERT INTO device_datapoint (pid, sn, alias, ts, value) VALUES (?, ?, ?, ?, ?)", rows)

    def reset(self) -> None:
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM device_datapoint")

    def record(self, pid: str, sn: str, values: Mapping[str, Any], *, api: str = "write",
               source_ip: str | None = None) -> None:
        """Datapoints arrive for a device: stored, and one datapoint event per alias."""
        for alias, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise ServiceError(400, f"{alias}: a dataport value must be a string or a number")
        now = int(self.host.now())
        written = []
        with self.host.state.transaction() as db:
            for alias, value in values.items():
                cursor = db.execute("INSERT INTO device_datapoint (pid, sn, alias, ts, value) VALUES (?, ?, ?, ?, ?)",
                                    (pid, sn, alias, now, json.dumps(value)))
                written.append((cursor.lastrowid, alias, value))
        received_us = self._now_us()
        for seq, alias, value in written:
            self.host.emit("datapoint", {
                "api": api, "pid": pid, "rid": resource_id(pid, sn, alias), "seq": seq, "alias": alias,
                "value": [now if api == "record" else LIVE, value], "device_sn": sn, "source_ip": source_ip,
                "timestamp": received_us,
            })

    def write(self, args: dict[str, Any]) -> None:
        values = {k: v for k, v in args.items() if k not in ("pid", "device_sn")}
        if not values:
            raise ServiceError(400, "give at least one dataport as alias = value")
        self.record(args["pid"], args["device_sn"], values, source_ip="127.0.0.1")
        self._to_device(args["device_sn"], values)

    def _to_device(self, sn: str, values: Mapping[str, Any]) -> None:
        """A solution's write to a device's dataport is what the device then reads through the device
        API (the One Platform had one dataport for both sides): Device2 holds it as the set value.
        A device never activated has nothing to read; Device2's refusal is its answer, not ours."""
        self.host.call("device2", "setIdentityState", {**values, "identity": sn})

    def list(self, args: dict[str, Any]) -> builtins.list[dict[str, Any]]:
        offset = max(0, args.get("offset") or 0)
        rows = self.host.state.db.execute(
            "SELECT sn, MAX(ts) FROM device_datapoint WHERE pid = ? GROUP BY sn ORDER BY sn LIMIT ? OFFSET ?",
            (args["pid"], PAGE, offset)).fetchall()
        return [{"sn": sn, "rid": resource_id(args["pid"], sn), "status": "activated", "last_write": ts}
                for sn, ts in rows]

    def productInfo(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - Murano's operation name
        pid = args["pid"]
        # the product's resources (its spec; Exosite's 2017 device-sensor quickstart lists them by
        # `productInfo{pid}.resources[i].alias`): the definitions Device2 holds, the device API's product
        defined = self.host.call("device2", "getGatewayResource", {})
        resources = [{"alias": alias, "format": definition.get("format", "string"),
                      "rid": resource_id(pid, "resource", alias)}
                     for alias, definition in sorted((defined if isinstance(defined, Mapping) else {}).items())
                     if isinstance(definition, Mapping)]  # an error table (no Device2) has no definitions
        return {"id": pid, "rid": resource_id(pid), "label": self.host.settings.get("label") or pid,
                "endpoint": f"https://{pid}.m2.exosite.com/", "resources": resources}

    def deviceCallback(self, args: dict[str, Any]) -> None:  # noqa: N802
        return None

    def rpcCall(self, args: dict[str, Any]) -> builtins.list[dict[str, Any]]:  # noqa: N802
        auth = args.get("auth") or {}
        client = auth.get("client_id") if isinstance(auth, Mapping) else None
        sn = self._serial(args["pid"], client) if isinstance(client, str) else None
        return [self._rpc(args["pid"], sn, call, index) for index, call in enumerate(args["calls"], 1)]

    def _serial(self, pid: str, client: str) -> str:
        """auth.client_id names the device by its rid (what `lookup` and `list` give, as 2016 code
        passes it) or by its serial number."""
        for (sn,) in self.host.state.db.execute("SELECT DISTINCT sn FROM device_datapoint WHERE pid = ?", (pid,)):
            if resource_id(pid, sn) == client:
                return str(sn)
        return client

    def _rpc(self, pid: str, sn: Any, call: Any, index: int) -> dict[str, Any]:
        if not isinstance(call, Mapping):
            return _fail(index, 400, "each call must be a table {id, procedure, arguments}")
        call_id = call.get("id", index)
        procedure = call.get("procedure")
        arguments = call.get("arguments") or []
        if procedure == "lookup":  # the product's own client: no auth needed
            return self._lookup(pid, call_id, arguments)
        if not isinstance(sn, str):
            return _fail(call_id, 401, "auth.client_id must name the device (its rid or serial number)")
        alias = arguments[0].get("alias") if arguments and isinstance(arguments[0], Mapping) else None
        if procedure not in ("read", "write", "info"):
            return _fail(call_id, 400, f"procedure {procedure!r} is not emulated (lookup, read, write, info)")
        if not isinstance(alias, str):
            return _fail(call_id, 400, "the first argument must be {alias = ...}")
        if procedure == "write":
            if len(arguments) < 2:
                return _fail(call_id, 400, "write takes {alias = ...} and a value")
            try:
                self.record(pid, sn, {alias: arguments[1]}, api="write")
            except ServiceError as exc:
                return _fail(call_id, exc.status, exc.message)
            self._to_device(sn, {alias: arguments[1]})
            return {"id": call_id, "status": "ok"}
        db = self.host.state.db
        if procedure == "info":
            (count,) = db.execute("SELECT COUNT(*) FROM device_datapoint WHERE pid = ? AND sn = ? AND alias = ?",
                                  (pid, sn, alias)).fetchone()
            return {"id": call_id, "status": "ok",
                    "result": {"alias": alias, "rid": resource_id(pid, sn, alias), "count": count}}
        options = arguments[1] if len(arguments) > 1 and isinstance(arguments[1], Mapping) else {}
        limit = options.get("limit", 1)
        limit = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else 1
        rows = db.execute("SELECT ts, value FROM device_datapoint WHERE pid = ? AND sn = ? AND alias = ? "
                          "ORDER BY ts DESC, seq DESC LIMIT ?", (pid, sn, alias, limit)).fetchall()
        return {"id": call_id, "status": "ok", "result": [[ts, json.loads(value)] for ts, value in rows]}

    def _lookup(self, pid: str, call_id: Any, arguments: Any) -> dict[str, Any]:
        """One Platform `lookup ["alias", <sn>]` on the product: the device's rid (devices are the
        product's children aliased by serial number); a device that never wrote is not found."""
        if len(arguments) < 2 or arguments[0] != "alias" or not isinstance(arguments[1], str):
            return _fail(call_id, 400, 'lookup takes "alias" and a serial number')
        sn = arguments[1]
        found = self.host.state.db.execute(
            "SELECT 1 FROM device_datapoint WHERE pid = ? AND sn = ? LIMIT 1", (pid, sn)).fetchone()
        if found is None:
            return _fail(call_id, 404, f"no device {sn!r} in product {pid!r}")
        return {"id": call_id, "status": "ok", "result": resource_id(pid, sn)}


def _fail(call_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"id": call_id, "status": "fail", "error": {"code": code, "message": message, "context": "rpcCall"}}
