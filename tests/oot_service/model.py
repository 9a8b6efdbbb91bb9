"""The `exchange` service's model: rates in the solution's state, seeded from its settings."""

from __future__ import annotations

from typing import Any

from murano_sim.services import ServiceError, ServiceHost


class Exchange:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        host.state.db.execute("CREATE TABLE IF NOT EXISTS exchange_rates (currency TEXT PRIMARY KEY, rate REAL)")
        if not host.state.db.execute("SELECT 1 FROM exchange_rates").fetchone():
            self.reset()

    # -- operations (one method per operation of spec.yaml) ----------------------------------------
    def setRate(self, args: dict[str, Any]) -> None:  # noqa: N802 - Murano's operation name
        self.seed({args["currency"]: args["rate"]})
        self.host.emit("rateChanged", {"currency": args["currency"], "rate": args["rate"]})

    def convert(self, args: dict[str, Any]) -> dict[str, Any]:
        row = self.host.state.db.execute(
            "SELECT rate FROM exchange_rates WHERE currency = ?", (args["currency"],)).fetchone()
        if row is None:
            raise ServiceError(404, f"no rate for {args['currency']}")
        return {"amount": args["amount"] * row[0], "currency": self.host.parameters["base"]}

    # -- what its control uses (seed, inspect, reset) ----------------------------------------------
    def seed(self, rates: dict[str, float]) -> None:
        with self.host.state.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO exchange_rates VALUES (?, ?)", list(rates.items()))

    def inspect(self, view: str | None = None, **query: Any) -> dict[str, float]:
        return dict(self.host.state.db.execute("SELECT currency, rate FROM exchange_rates ORDER BY currency"))

    def reset(self) -> None:
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM exchange_rates")
        self.seed(self.host.settings.get("rates") or {})
