"""Murano's Interface service: subscribers kept in the solution's state, events delivered to them."""

from __future__ import annotations

import json
from typing import Any

from ..bounds import DEFAULT_QUOTA_BYTES, ByteQuota, check_payload, positive_setting, row_bytes, table_bytes
from ..host import ServiceError, ServiceHost

MAX_SUBSCRIBER_BYTES = 64 * 1024  # murano-sim's choice: one subscriber's parameters
SELF = {"solution_id": "self", "alias": "{product.id}", "parameters": {}}


class Interface:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        self.linked: list[dict[str, Any]] = []  # applications served together with this solution (link.py)
        limit = positive_setting(host.settings, "interface", "quota_bytes", DEFAULT_QUOTA_BYTES)
        self.quota = ByteQuota("Interface.setSubscriber", limit, "services.interface.quota_bytes",
                               lambda: table_bytes(host.state, ["interface_subscribers"]))
        host.state.db.execute(
            "CREATE TABLE IF NOT EXISTS interface_subscribers (solution_id TEXT PRIMARY KEY, data TEXT NOT NULL)"
        )
        if not host.state.db.execute("SELECT 1 FROM interface_subscribers LIMIT 1").fetchone():
            self.reset()

    def reset(self) -> None:
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM interface_subscribers")
            # A linked application replaces the default self-subscription: the two are separate solutions.
            configured = self.host.settings.get("subscribers") or ([] if self.linked else [SELF])
            for subscriber in [*configured, *self.linked]:
                entry = {**SELF, **subscriber}
                db.execute("INSERT OR REPLACE INTO interface_subscribers VALUES (?, ?)",
                           (entry["solution_id"], json.dumps(entry)))

    def link(self, subscriber: dict[str, Any]) -> None:
        """An application served together with this solution subscribes to it ({solution_id, alias})."""
        self.linked.append({"parameters": {}, **subscriber})
        with self.host.state.transaction() as db:
            if not self.host.settings.get("subscribers"):
                db.execute("DELETE FROM interface_subscribers WHERE solution_id = ?", (SELF["solution_id"],))
            db.execute("INSERT OR REPLACE INTO interface_subscribers VALUES (?, ?)",
                       (subscriber["solution_id"], json.dumps(self.linked[-1])))

    def _all(self) -> list[dict[str, Any]]:
        rows = self.host.state.db.execute("SELECT data FROM interface_subscribers ORDER BY solution_id")
        return [json.loads(data) for (data,) in rows]

    def _one(self, solution_id: str) -> dict[str, Any] | None:
        row = self.host.state.db.execute(
            "SELECT data FROM interface_subscribers WHERE solution_id = ?", (solution_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def trigger(self, args: dict[str, Any]) -> None:
        check_payload("Interface.trigger", "data", args.get("data"))
        for subscriber in self._all():
            self.host.emit_event(subscriber["alias"], args["event"], args.get("data"))

    def triggerOne(self, args: dict[str, Any]) -> None:
        check_payload("Interface.triggerOne", "data", args.get("data"))
        subscriber = self._one(args["target"])
        if subscriber is None:
            raise ServiceError(404, f"Interface.triggerOne: no subscriber {args['target']}")
        self.host.emit_event(subscriber["alias"], args["event"], args.get("data"))

    def listSubscribers(self, args: dict[str, Any]) -> dict[str, Any]:
        items = self._all()
        return {"items": items, "total": len(items)}

    def getSubscriber(self, args: dict[str, Any]) -> dict[str, Any]:
        subscriber = self._one(args["solution_id"])
        if subscriber is None:
            raise ServiceError(404, f"Interface.getSubscriber: no subscriber {args['solution_id']}")
        return subscriber

    def setSubscriber(self, args: dict[str, Any]) -> None:
        existing = self._one(args["solution_id"])
        entry = {**(existing or {"alias": args["solution_id"], "parameters": {}}), **args}
        check_payload("Interface.setSubscriber", "subscriber", entry, MAX_SUBSCRIBER_BYTES)
        data = json.dumps(entry)
        self.quota.charge(row_bytes(entry["solution_id"], data))
        with self.host.state.transaction() as db:
            db.execute("INSERT OR REPLACE INTO interface_subscribers VALUES (?, ?)", (entry["solution_id"], data))
        event = "subscriberUpdated" if existing else "subscriberAdded"
        self.host.emit(event, {"solution_id": entry["solution_id"], "parameters": entry.get("parameters") or {}})

    def removeSubscriber(self, args: dict[str, Any]) -> None:
        existing = self._one(args["solution_id"])
        if existing is None:
            raise ServiceError(404, f"Interface.removeSubscriber: no subscriber {args['solution_id']}")
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM interface_subscribers WHERE solution_id = ?", (args["solution_id"],))
        self.host.emit("subscriberRemoved", {"solution_id": existing["solution_id"],
                                             "parameters": existing.get("parameters") or {}})
