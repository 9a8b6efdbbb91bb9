"""The `tally` test service's model: counters in the solution's state, an event, a due alarm."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from murano_sim.services import ServiceError, ServiceHost


class Tally:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        self.alarms: list[datetime] = []
        host.state.db.execute("CREATE TABLE IF NOT EXISTS tally (name TEXT PRIMARY KEY, count INTEGER NOT NULL)")
        if not host.state.db.execute("SELECT 1 FROM tally").fetchone():
            self.reset()

    def reset(self) -> None:
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM tally")
            for name, count in (self.host.settings.get("seed") or {}).items():
                db.execute("INSERT INTO tally VALUES (?, ?)", (name, count))
        self.alarms.clear()

    def add(self, args: dict[str, Any]) -> dict[str, Any]:
        amount = args.get("amount", self.host.parameters["step"])
        with self.host.state.transaction() as db:
            db.execute(
                "INSERT INTO tally VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET count = count + excluded.count",
                (args["name"], amount),
            )
            (count,) = db.execute("SELECT count FROM tally WHERE name = ?", (args["name"],)).fetchone()
        if count >= 10:
            self.host.emit("reached", {"name": args["name"], "count": count})
        return {"name": args["name"], "count": count, "label": self.host.parameters["label"]}

    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        row = self.host.state.db.execute("SELECT count FROM tally WHERE name = ?", (args["name"],)).fetchone()
        if row is None:
            raise ServiceError(404, f"no counter named {args['name']}")
        return {"count": row[0]}

    def clear(self, args: dict[str, Any]) -> None:
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM tally")

    def alarm(self, args: dict[str, Any]) -> dict[str, Any]:
        when = self.host.clock.now() + timedelta(seconds=args["seconds"])
        self.alarms.append(when)
        return {"at": when.astimezone(timezone.utc).isoformat()}

    def echo(self, args: dict[str, Any]) -> dict[str, Any]:
        return dict(args)

    # the clock stops at each alarm on advance (DueSource)
    def next_due(self) -> datetime | None:
        return min(self.alarms) if self.alarms else None

    def run_due(self) -> None:
        now = self.host.clock.now()
        for when in sorted(a for a in self.alarms if a <= now):
            self.alarms.remove(when)
            self.host.emit("alarm", {"at": when.isoformat(), "clock": now.isoformat()})
