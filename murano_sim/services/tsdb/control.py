"""Tsdb's control: write and read points (the store Timeseries shares), for the console, the
`tsdb` fixture and yaml cases (`tsdb:` seeds points, `expect.tsdb` checks they are stored)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import UsageError
from ..control import CaseDataError, Mismatch, ServiceControl, entries, equal, mapping
from .model import parse_time

POINT_KEYS = ("metrics", "tags", "ts")
# The console's chart windows, in seconds.
WINDOWS = {"15m": 900, "1h": 3600, "6h": 21600, "1d": 86400, "7d": 604800, "30d": 2592000}


class TsdbPoints:
    """write(metrics, tags=None, ts=None) like Tsdb.write; points(metric=None) -> [{metric, ts, value, tags}]."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def write(self, metrics: Mapping[str, Any], tags: Mapping[str, Any] | None = None, ts: Any = None) -> None:
        self._model.write({"metrics": dict(metrics), "tags": dict(tags or {}), "ts": ts})

    def points(self, metric: str | None = None) -> list[dict[str, Any]]:
        """Every stored point, oldest first (ts in microseconds); only `metric`'s when given."""
        return [p for p in self._model.store.points() if metric is None or p["metric"] == metric]

    def clear(self) -> None:
        self._model.deleteAll({})

    @staticmethod
    def microseconds(ts: Any) -> int:
        """A Tsdb timestamp (µs, "<n>s", "<n>ms", ISO 8601) in microseconds."""
        return parse_time(ts, "ts")


class TsdbControl(ServiceControl):
    seed_keys = expect_keys = ("tsdb",)

    def fixture(self) -> TsdbPoints:
        return TsdbPoints(self.model)

    def seed(self, data: Any) -> None:
        """[{metrics, tags, ts}]: each written as Tsdb.write would."""
        points = self.fixture()
        with self.host.state.lock:
            for point in self.check_case("tsdb", "tsdb", data, expect=False):
                points.write(point["metrics"], point.get("tags"), point.get("ts"))

    def inspect(self, view: str | None = None, **query: Any) -> dict[str, Any]:
        """The metrics and tags, and `metric`'s points over `window` (the console's chart), or with
        view="points" every stored point."""
        if view == "points":
            return {"points": self.fixture().points(query.get("metric"))}
        metric, tags, window = query.get("metric"), dict(query.get("tags") or {}), query.get("window", "1h")
        if window not in WINDOWS:
            raise UsageError(f"window: expected one of {', '.join(WINDOWS)}, got {window!r}")
        tsdb = self.model
        with self.host.state.lock:
            metrics = tsdb.listMetrics({}).get("metrics", [])
            all_tags = tsdb.listTags({}).get("tags", {})
            points: list[list[Any]] = []
            if metric:
                result = tsdb.query({
                    "metrics": [metric], "tags": tags, "relative_start": f"-{WINDOWS[window]}s",
                    "limit": 5000, "order_by": "asc", "epoch": "ms",
                })
                points = [[row[0], row[1]] for row in result.get("values", []) if row[1] is not None]
        return {"metrics": metrics, "tags": all_tags, "metric": metric, "window": window,
                "windows": list(WINDOWS), "points": points}

    @staticmethod
    def check_case(key: str, where: str, value: Any, *, expect: bool) -> list[dict[str, Any]]:
        points = []
        for i, point in entries(value, where, POINT_KEYS, "points ({metrics, tags, ts})"):
            if not isinstance(point.get("metrics"), Mapping) or not point["metrics"]:
                raise CaseDataError(f"{where}[{i}]: needs `metrics` ({{name: value}})")
            if point.get("tags") is not None:
                mapping(point["tags"], f"{where}[{i}].tags")
            points.append(dict(point))
        return points

    def expect(self, key: str, wanted: Any) -> list[Mismatch]:
        stored = self.fixture().points()
        missing = [p for p in wanted if not _has_point(stored, p)]
        if not missing:
            return []
        shown = [{"metrics": {s["metric"]: s["value"]}, "tags": s["tags"], "ts": s["ts"]} for s in stored]
        return [Mismatch("tsdb", missing, shown, "these points are not stored")]


def _has_point(stored: list[dict[str, Any]], wanted: Mapping[str, Any]) -> bool:
    """Every metric of `wanted` is stored with its value, with at least its tags, at its ts if given."""
    ts = TsdbPoints.microseconds(wanted["ts"]) if wanted.get("ts") is not None else None
    tags = {str(k): str(v) for k, v in (wanted.get("tags") or {}).items()}
    return all(
        any(
            s["metric"] == metric and equal(value, s["value"]) and (ts is None or s["ts"] == ts)
            and all(s["tags"].get(k) == v for k, v in tags.items())
            for s in stored
        )
        for metric, value in wanted["metrics"].items()
    )


factory = TsdbControl
