"""Tsdb: Murano's time-series storage over the shared point store (SQLite in the solution's state)."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from .. import ServiceError, ServiceHost, points
from ..bounds import DEFAULT_QUOTA_BYTES, positive_setting, row_bytes
from ..points import AGGREGATES, US, PointStore, fmt_time

RETENTION_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
DEFAULT_WINDOW_US = 7 * US["d"]
DEFAULT_LIMIT, MAX_LIMIT = 1000, 10_000
MAX_BUCKETS = 100_000
_DURATION = re.compile(r"^\s*(-?\d+)\s*(u|us|ms|s|m|h|d|w)\s*$")
_RETENTION = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")


class Tsdb:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        db = host.state.db
        # Timeseries shares the points table; the jobs table is Tsdb's own, so it marks a fresh state.
        fresh = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'tsdb_jobs'").fetchone() is None
        # The quota counts the points (Timeseries's too) and the export files.
        quota = positive_setting(host.settings, "tsdb", "quota_bytes", DEFAULT_QUOTA_BYTES)
        self.store = PointStore(host.state, quota_bytes=quota, setting="services.tsdb.quota_bytes", label="Tsdb",
                                also=["tsdb_jobs"])
        db.execute(
            "CREATE TABLE IF NOT EXISTS tsdb_jobs (job_id TEXT PRIMARY KEY, created INTEGER NOT NULL, "
            "info TEXT NOT NULL, content TEXT NOT NULL)"
        )
        if fresh:
            self._seed()

    # -- writing --------------------------------------------------------------------------------
    def write(self, args: dict[str, Any]) -> None:
        self._insert(self._points(args, "Tsdb.write"), "Tsdb.write")

    def multiWrite(self, args: dict[str, Any]) -> None:  # noqa: N802 - Murano's operation name
        points = []
        for i, item in enumerate(args["datapoints"]):
            if not isinstance(item, Mapping):
                raise ServiceError(400, f"Tsdb.multiWrite: datapoints[{i + 1}]: must be a table {{metrics, tags, ts}}")
            points += self._points(item, f"Tsdb.multiWrite: datapoints[{i + 1}]")
        self._insert(points, "Tsdb.multiWrite")

    def _insert(self, points: list[tuple[int, str, Any, Mapping[str, Any]]], label: str) -> None:
        self.store.insert(points, label, retention=self._cutoffs())  # retention's delete in its transaction

    def _points(self, item: Mapping[str, Any], label: str) -> list[tuple[int, str, Any, Mapping[str, Any]]]:
        metrics, tags = item.get("metrics"), item.get("tags") or {}
        if not isinstance(metrics, Mapping) or not metrics:
            raise ServiceError(400, f"{label}: metrics: must be a table {{name = value}}")
        if not isinstance(tags, Mapping) or any(isinstance(v, (Mapping, list)) for v in tags.values()):
            raise ServiceError(400, f"{label}: tags: must be a table {{name = string}}")
        ts = self._now_us() if item.get("ts") is None else parse_time(item["ts"], f"{label}: ts")
        points = []
        for name, value in metrics.items():
            if not isinstance(value, (int, float, str)) or isinstance(value, bool):
                raise ServiceError(400, f"{label}: metrics.{name}: must be a number or a string")
            points.append((ts, str(name), value, tags))
        return points

    # -- reading --------------------------------------------------------------------------------
    def query(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._query(args, "Tsdb.query")

    def _query(self, args: Mapping[str, Any], label: str) -> dict[str, Any]:
        metrics = [str(m) for m in args.get("metrics") or []]
        if not metrics:
            raise ServiceError(400, f"{label}: metrics: at least one metric is required")
        now = self._now_us()
        end = _bound(args, "end_time", "relative_end", now, label)
        start = _bound(args, "start_time", "relative_start", now, label, default=end - DEFAULT_WINDOW_US)
        limit = args.get("limit", DEFAULT_LIMIT)
        if not 1 <= limit <= MAX_LIMIT:
            raise ServiceError(400, f"{label}: limit: must be from 1 to {MAX_LIMIT}, got {limit}")
        desc = args.get("order_by", "desc") == "desc"
        epoch = args.get("epoch")
        tags = args.get("tags") or {}
        split = args.get("mode", "merge") == "split"
        functions = [str(f) for f in args.get("aggregate") or []]
        for f in functions:
            if f not in AGGREGATES:
                raise ServiceError(400, f"{label}: aggregate: {f!r} is not one of {', '.join(AGGREGATES)}")
        size = None
        if args.get("sampling_size") is not None:
            size = parse_duration(args["sampling_size"], f"{label}: sampling_size")
            if size <= 0:
                raise ServiceError(400, f"{label}: sampling_size: must be a positive duration like 30m")
            functions = functions or ["avg"]
        starts = {m: max(start, self._cutoff(m, now) or start) for m in metrics}
        shown = {"metrics": metrics, "tags": dict(tags)}
        if functions and size is None:  # one aggregate row per metric
            values = {}
            for m in metrics:
                row = self.store.buckets(m, starts[m], end, tags, None, functions)[0]
                values[m] = {f: v for f, v in zip(functions, row[1:], strict=True) if v is not None}
            return {**shown, "values": values}
        if functions and size is not None:
            return {**shown, **self._sampled(metrics, starts, start, end, tags, size, functions, args, desc, limit,
                                             epoch, split, label)}
        series = {m: self.store.series(m, starts[m], end, tags, desc=desc, limit=limit) for m in metrics}
        if split:
            return {**shown, "values": {m: [[fmt_time(t, epoch), v] for t, v, _ in rows] for m, rows in series.items()}}
        rows: dict[tuple[int, str], list[Any]] = {}
        for index, m in enumerate(metrics):
            for t, v, tagset in series[m]:
                rows.setdefault((t, tagset), [None] * len(metrics))[index] = v
        ordered = sorted(rows.items(), key=lambda item: item[0][0], reverse=desc)[:limit]
        return {**shown, "columns": ["time", *metrics],
                "values": [[fmt_time(t, epoch), *cells] for (t, _), cells in ordered]}

    def _sampled(
        self, metrics: list[str], starts: dict[str, int], start: int, end: int, tags: Mapping[str, Any], size: int,
        functions: list[str], args: Mapping[str, Any], desc: bool, limit: int, epoch: str | None, split: bool,
        label: str,
    ) -> dict[str, Any]:
        fill = args.get("fill", "null")
        if not (fill in ("null", "none", "previous") or isinstance(fill, (int, float)) and not isinstance(fill, bool)):
            raise ServiceError(400, f"{label}: fill: must be null, none, previous or a number, got {fill!r}")
        first, last = (start // size) * size, (end // size) * size
        if fill != "none" and (last - first) // size > MAX_BUCKETS:
            raise ServiceError(400, f"{label}: sampling_size: more than {MAX_BUCKETS} buckets in the window")
        found = {m: {row[0]: dict(zip(functions, row[1:], strict=True))
                     for row in self.store.buckets(m, starts[m], end, tags, size, functions)} for m in metrics}
        if fill == "none":
            times = sorted({b for per in found.values() for b in per})
        else:
            times = list(range(first, last + 1, size))

        def cells(m: str) -> list[Any]:
            out, previous = [], None
            for b in times:
                cell = found[m].get(b)
                if cell is None:
                    if fill == "previous":
                        cell = previous
                    elif isinstance(fill, (int, float)):
                        cell = {f: fill for f in functions}
                previous = cell if cell is not None else previous
                out.append(cell)
            return out

        per_metric = {m: cells(m) for m in metrics}
        order = list(range(len(times)))[::-1] if desc else list(range(len(times)))
        if split:
            values = {}
            for m in metrics:
                rows = [[fmt_time(times[i], epoch), per_metric[m][i]] for i in order
                        if fill != "none" or per_metric[m][i] is not None]
                values[m] = rows[:limit]
            return {"values": values}
        return {"columns": ["time", *metrics],
                "values": [[fmt_time(times[i], epoch), *(per_metric[m][i] for m in metrics)] for i in order][:limit]}

    def recent(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.host.parameters.get("recent_function_disable"):
            raise ServiceError(403, "Tsdb.recent: disabled by the recent_function_disable parameter")
        metrics, epoch, now = [str(m) for m in args["metrics"]], args.get("epoch"), self._now_us()
        if not metrics:
            raise ServiceError(400, "Tsdb.recent: metrics: at least one metric is required")

        def newest(tags: Mapping[str, Any] | None) -> dict[str, Any]:
            out = {}
            for m in metrics:
                row = self.store.latest(m, tags, now)
                cutoff = self._cutoff(m, now)
                if row is not None and (cutoff is None or row[0] >= cutoff):
                    out[m] = [fmt_time(row[0], epoch), row[1]]
            return out

        name = args.get("tag_name")
        if name is None:
            return {"values": newest(None)}
        wanted = args.get("tag_values") or self.store.tags().get(name, [])
        return {"values": {str(v): newest({name: str(v)}) for v in wanted}}

    def listMetrics(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        names, next_cursor = _page(self.store.metrics(), args, "Tsdb.listMetrics")
        return {"metrics": names, **({"next": next_cursor} if next_cursor else {})}

    def listTags(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        tags = self.store.tags()
        names, next_cursor = _page(sorted(tags), args, "Tsdb.listTags")
        return {"tags": {n: tags[n] for n in names}, **({"next": next_cursor} if next_cursor else {})}

    def deleteAll(self, args: dict[str, Any]) -> None:  # noqa: N802
        self.store.clear()

    # -- export jobs ----------------------------------------------------------------------------------
    def export(self, args: dict[str, Any]) -> dict[str, Any]:
        fmt = args.get("format", "csv")
        query = dict(args["query"])
        query["mode"] = "merge"
        query.setdefault("limit", MAX_LIMIT)
        result = self._query(query, "Tsdb.export: query")
        content = _render(result, fmt)
        job_id = uuid.uuid4().hex
        filename = args.get("filename") or f"tsdb-export-{job_id[:8]}.{fmt}"
        info = {"job_id": job_id, "status": "completed", "format": fmt, "filename": filename,
                "length": len(content), "url": f"murano-sim://tsdb/export/{job_id}/{filename}",
                "created_at": fmt_time(self._now_us(), None)}
        row = (job_id, self._now_us(), json.dumps(info), content)
        self.store.quota.charge(row_bytes(*row))
        with self.host.state.transaction() as db:
            db.execute("INSERT INTO tsdb_jobs VALUES (?, ?, ?, ?)", row)
        self.host.emit("exportJob", dict(info))
        return {"job_id": job_id}

    def exportJobInfo(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        row = self.host.state.db.execute("SELECT info FROM tsdb_jobs WHERE job_id = ?", (args["job_id"],)).fetchone()
        if row is None:
            raise ServiceError(404, f"Tsdb.exportJobInfo: no export job {args['job_id']!r}")
        return json.loads(row[0])

    def exportJobList(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        rows = self.host.state.db.execute("SELECT info FROM tsdb_jobs ORDER BY created, rowid")
        return {"jobs": [json.loads(r[0]) for r in rows]}

    def export_content(self, job_id: str) -> str | None:
        """The exported file (for tests)."""
        row = self.host.state.db.execute("SELECT content FROM tsdb_jobs WHERE job_id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    # -- lifetime -------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.store.clear()
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM tsdb_jobs")
        self.store.quota.forget()
        self._seed()

    def _seed(self) -> None:
        seed = self.host.settings.get("seed") or []
        if not isinstance(seed, list):
            raise ServiceError(500, "services.tsdb.seed: must be a list of {metrics, tags, ts}")
        if seed:
            self.multiWrite({"datapoints": seed})

    # -- time and retention -----------------------------------------------------------------------------
    def _now_us(self) -> int:
        return round(self.host.now() * 1_000_000)

    def _cutoff(self, metric: str | None, now: int) -> int | None:
        """The oldest time a metric keeps (None: kept forever)."""
        rules = self.host.parameters.get("metrics_retention") or {}
        rule = rules.get(metric, "default") if metric is not None else "default"
        if rule == "default":
            rule = self.host.parameters.get("default_retention", "3m")
        days = parse_retention(rule)
        return None if days is None else now - days * US["d"]

    def _cutoffs(self) -> dict[str | None, int | None]:
        """Retention's cutoff per metric with a rule of its own, and (key None) for every other metric."""
        now = self._now_us()
        rules = self.host.parameters.get("metrics_retention") or {}
        cutoffs: dict[str | None, int | None] = {None: self._cutoff(None, now)}
        cutoffs.update({str(m): self._cutoff(str(m), now) for m in rules})
        return cutoffs


def parse_time(value: Any, label: str) -> int:
    """Microseconds since the epoch (state/points.py), a bad one as Murano's 400."""
    try:
        return points.parse_time(value, label)
    except points.BadTime as exc:
        raise ServiceError(400, str(exc)) from None


def parse_duration(value: Any, label: str) -> int:
    """Microseconds from "<n>u|ms|s|m|h|d|w" (m = minutes)."""
    match = _DURATION.match(str(value))
    if not match:
        raise ServiceError(400, f"{label}: must be a duration like -1h or 30m (units u, ms, s, m, h, d, w), "
                                f"got {value!r}")
    return int(match.group(1)) * US[match.group(2)]


def parse_retention(value: Any) -> int | None:
    """Days kept, from "<n>d|w|m|y" (m = 30 days); None for infinity."""
    if str(value).strip().lower() == "infinity":
        return None
    match = _RETENTION.match(str(value))
    if not match:
        raise ServiceError(400, f"Tsdb: retention {value!r}: must be <n>d, <n>w, <n>m, <n>y or infinity")
    return int(match.group(1)) * RETENTION_DAYS[match.group(2)]


def _bound(args: Mapping[str, Any], absolute: str, relative: str, now: int, label: str,
           default: int | None = None) -> int:
    if args.get(absolute) is not None:
        return parse_time(args[absolute], f"{label}: {absolute}")
    if args.get(relative) is not None:
        return now + parse_duration(args[relative], f"{label}: {relative}")
    return now if default is None else default


def _page(names: list[str], args: Mapping[str, Any], label: str) -> tuple[list[str], str | None]:
    limit = args.get("limit", 1000)
    if not 1 <= limit <= 1000:
        raise ServiceError(400, f"{label}: limit: must be from 1 to 1000, got {limit}")
    after = args.get("next")
    if after:
        names = [n for n in names if n > after]
    page = names[:limit]
    return page, (page[-1] if len(names) > limit else None)


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _render(result: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result, separators=(",", ":"))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.get("columns", ["time"]))
    for row in result.get("values", []):
        writer.writerow(["" if cell is None else _number(cell) for cell in row])
    return out.getvalue()
