"""Timeseries: Murano's legacy (2016) InfluxDB 0.13 service, over the point store Tsdb uses.

Writes take InfluxDB line protocol; queries take the InfluxQL subset 2016 solutions use
(SELECT fields FROM measurements [WHERE tag = '...' AND time bounds] [GROUP BY time(...), tag, ...]
[fill(...)] [ORDER BY time ...] [LIMIT n]), and SHOW MEASUREMENTS / SHOW TAG KEYS [FROM m]. Anything
else is a 400 naming what is unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .. import ServiceError, ServiceHost
from ..bounds import DEFAULT_QUOTA_BYTES, positive_setting
from ..points import US, BadTime, PointStore, fmt_time, parse_time

PRECISION_US = {"n": None, "ns": None, "u": 1, "ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000}
FUNCTIONS = {"mean": "avg", "min": "min", "max": "max", "count": "count", "sum": "sum"}
_STATEMENT = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<from>.+?)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+GROUP\s+BY\s+(?P<group>.+?))?"
    r"(?:\s+fill\((?P<fill>[^)]*)\))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_FIELD = re.compile(r'^\s*(?:(?P<fn>\w+)\(\s*(?P<inner>"[^"]+"|\w+|\*)\s*\)|(?P<plain>"[^"]+"|[\w.]+|\*))\s*$')
_NAME = re.compile(r'^\s*("(?:[^"]+)"|[\w.\-]+)\s*$')
_TIME_COND = re.compile(r"^time\s*(?P<op>>=|<=|>|<|=)\s*(?P<rhs>.+)$", re.IGNORECASE)
_NOW = re.compile(r"^now\(\)\s*(?:(?P<sign>[-+])\s*(?P<n>\d+)(?P<unit>u|µ|ms|s|m|h|d|w))?$", re.IGNORECASE)
_TAG_COND = re.compile(r"""^(?P<tag>"[^"]+"|\w+)\s*=\s*'(?P<value>(?:[^'\\]|\\.)*)'$""")
_SHOW = re.compile(r"^\s*SHOW\s+(?P<what>MEASUREMENTS|TAG\s+KEYS)(?:\s+FROM\s+(?P<from>.+?))?\s*$",
                   re.IGNORECASE | re.DOTALL)
_GROUP_TIME = re.compile(r"^time\(\s*(?P<n>\d+)(?P<unit>u|ms|s|m|h|d|w)\s*\)$", re.IGNORECASE)


class Timeseries:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        quota = positive_setting(host.settings, "timeseries", "quota_bytes", DEFAULT_QUOTA_BYTES)
        self.store = PointStore(host.state, quota_bytes=quota, setting="services.timeseries.quota_bytes",
                                label="Timeseries")

    def write(self, args: dict[str, Any]) -> None:
        precision = args.get("precision", "ns")
        now = round(self.host.now() * 1_000_000)
        points = []
        for number, line in enumerate(args["query"].splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                points += _parse_line(line.strip(), number, precision, now)
        if not points:
            raise ServiceError(400, "Timeseries.write: query: no points in the line protocol text")
        self.store.insert(points, "Timeseries.write")

    def query(self, args: dict[str, Any]) -> dict[str, Any]:
        statements = [s for s in _split_statements(args["q"]) if s.strip()]
        if not statements:
            raise ServiceError(400, "Timeseries.query: q: is empty")
        return {"results": [self._select(s, args.get("epoch")) for s in statements]}

    def command(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.query(args)

    def _show(self, what: str, measurements: str | None) -> dict[str, Any]:
        """SHOW MEASUREMENTS and SHOW TAG KEYS [FROM m, ...], shaped as InfluxDB 0.13 answers them."""
        known = _measurements(self.store.metrics())
        if what.upper() == "MEASUREMENTS":
            return {"series": [{"name": "measurements", "columns": ["name"], "values": [[m] for m in known]}]} \
                if known else {}
        wanted = [_name(m) for m in _split_commas(measurements)] if measurements else known
        series = []
        for measurement in wanted:
            metrics = [m for m in self.store.metrics() if _field_of(measurement, m) is not None]
            keys = sorted({key for tags in self.store.tag_sets(metrics) for key in tags})
            if keys:
                series.append({"name": measurement, "columns": ["tagKey"], "values": [[k] for k in keys]})
        return {"series": series} if series else {}

    def _select(self, statement: str, epoch: str | None) -> dict[str, Any]:
        show = _SHOW.match(statement)
        if show:
            return self._show(" ".join(show.group("what").split()), show.group("from"))
        match = _STATEMENT.match(statement)
        if not match:
            first = statement.split(None, 1)[0].upper() if statement.split() else ""
            what = f"{first} statements" if first != "SELECT" else "this form of SELECT"
            raise ServiceError(400, f"Timeseries.query: unsupported InfluxQL: {what} (supported: SELECT fields FROM "
                                    "measurements [WHERE tag = '...' AND time bounds] [GROUP BY time(...)] "
                                    f"[fill(...)] [ORDER BY time] [LIMIT n]): {statement.strip()!r}")
        now = round(self.host.now() * 1_000_000)
        start, end, tags = _where(match.group("where"), now)
        fields = [_field(f) for f in _split_commas(match.group("fields"))]
        size, by_tags = _group(match.group("group"))
        fill = _fill(match.group("fill"))
        desc = _order(match.group("order"))
        limit = int(match.group("limit")) if match.group("limit") else None
        functions = {fn for fn, _ in fields if fn}
        if functions and len(functions) != len(fields):
            raise ServiceError(400, "Timeseries.query: unsupported InfluxQL: mixing aggregate and raw fields")
        if size is not None and not functions:
            raise ServiceError(400, "Timeseries.query: GROUP BY time() needs an aggregate function like mean(value)")
        if size is not None and start is None:
            raise ServiceError(400, "Timeseries.query: GROUP BY time() needs a lower time bound in WHERE")
        series = []
        for measurement in (_name(m) for m in _split_commas(match.group("from"))):
            known = self.store.metrics()
            names: list[tuple[str | None, str]] = []
            for fn, field in fields:
                if field == "*":
                    names += [(fn, f) for m in known if (f := _field_of(measurement, m)) is not None]
                else:
                    names.append((fn, field))
            for group in self._groups(measurement, known, by_tags, tags):
                columns, rows = self._rows(measurement, names, start, end, {**tags, **group}, size, fill, desc,
                                           limit, now)
                if rows:
                    found: dict[str, Any] = {"name": measurement}
                    if by_tags:
                        found["tags"] = {name: group.get(name, "") for name in by_tags}
                    found.update({"columns": ["time", *columns],
                                  "values": [[_time(t, epoch), *cells] for t, cells in rows]})
                    series.append(found)
        return {"series": series} if series else {}

    def _groups(self, measurement: str, known: list[str], by_tags: list[str],
                where: Mapping[str, str]) -> list[dict[str, str]]:
        """GROUP BY <tag>: one tag filter per distinct value combination the measurement's points carry
        (points without one of the tags are left out); without tags, one group of everything."""
        if not by_tags:
            return [{}]
        metrics = [m for m in known if _field_of(measurement, m) is not None]
        combos = {tuple((name, tags[name]) for name in by_tags)
                  for tags in self.store.tag_sets(metrics)
                  if all(name in tags for name in by_tags) and all(tags.get(k) == v for k, v in where.items())}
        return [dict(combo) for combo in sorted(combos)]

    def _rows(self, measurement: str, names: list[tuple[str | None, str]], start: int | None, end: int | None,
              tags: Mapping[str, str], size: int | None, fill: Any, desc: bool, limit: int | None,
              now: int) -> tuple[list[str], list[tuple[int, list[Any]]]]:
        lo, hi = start if start is not None else 0, end if end is not None else now
        columns = [f"{'mean' if fn == 'avg' else fn}" if fn else field for fn, field in names]
        by_time: dict[int, list[Any]] = {}
        for index, (fn, field) in enumerate(names):
            metric = measurement if field == "value" else f"{measurement}.{field}"
            if fn is None:
                for t, v, _ in self.store.series(metric, lo, hi, tags, desc=desc, limit=limit):
                    by_time.setdefault(t, [None] * len(names))[index] = v
                continue
            for bucket, value in self.store.buckets(metric, lo, hi, tags, size, [fn]):
                by_time.setdefault(bucket if size else lo, [None] * len(names))[index] = value
        if size is not None and fill != "none":
            previous: list[Any] = [None] * len(names)
            for bucket in range((lo // size) * size, (hi // size) * size + 1, size):
                cells = by_time.setdefault(bucket, [None] * len(names))
                for i, cell in enumerate(cells):
                    if cell is None:
                        cells[i] = previous[i] if fill == "previous" else (None if fill == "null" else fill)
                previous = list(cells)
        if all(cell is None for cells in by_time.values() for cell in cells) and size is None:
            return columns, []  # nothing matched: InfluxDB answers no series
        rows = sorted(by_time.items(), reverse=desc)
        return columns, rows[:limit] if limit else rows


def _time(us: int, epoch: str | None) -> Any:
    if epoch in ("n", "ns"):
        return us * 1_000
    if epoch in ("m", "h"):
        return us // US[epoch]
    return fmt_time(us, epoch)


def _field_of(measurement: str, metric: str) -> str | None:
    if metric == measurement:
        return "value"
    if metric.startswith(measurement + "."):
        return metric[len(measurement) + 1:]
    return None


def _name(text: str) -> str:
    match = _NAME.match(text)
    if not match:
        raise ServiceError(400, f"Timeseries.query: unsupported InfluxQL: measurement {text.strip()!r} "
                                "(regular expressions and retention-policy paths are not supported)")
    return match.group(1).strip('"')


def _field(text: str) -> tuple[str | None, str]:
    match = _FIELD.match(text)
    if not match:
        raise ServiceError(400, f"Timeseries.query: unsupported InfluxQL: field expression {text.strip()!r}")
    if match.group("plain"):
        return None, match.group("plain").strip('"')
    fn = match.group("fn").lower()
    if fn not in FUNCTIONS:
        raise ServiceError(400, f"Timeseries.query: unsupported InfluxQL: function {fn}() "
                                f"(supported: {', '.join(FUNCTIONS)})")
    return FUNCTIONS[fn], match.group("inner").strip('"')


def _where(text: str | None, now: int) -> tuple[int | None, int | None, dict[str, str]]:
    start = end = None
    tags: dict[str, str] = {}
    if not text:
        return start, end, tags
    if re.search(r"\bOR\b", text, re.IGNORECASE):
        raise ServiceError(400, "Timeseries.query: unsupported InfluxQL: OR in WHERE (only AND is supported)")
    for cond in re.split(r"\s+AND\s+", text.strip().strip("()"), flags=re.IGNORECASE):
        cond = cond.strip().strip("()").strip()
        timed = _TIME_COND.match(cond)
        if timed:
            op, at = timed.group("op"), _instant(timed.group("rhs").strip(), now)
            if op in (">", ">="):
                start = at + (1 if op == ">" else 0)
            elif op in ("<", "<="):
                end = at - (1 if op == "<" else 0)
            else:
                start = end = at
            continue
        tagged = _TAG_COND.match(cond)
        if tagged:
            tags[tagged.group("tag").strip('"')] = tagged.group("value").replace("\\'", "'")
            continue
        raise ServiceError(400, f"Timeseries.query: unsupported InfluxQL: condition {cond!r} (supported: "
                                "tag = 'value' and time bounds joined by AND)")
    return start, end, tags


def _instant(rhs: str, now: int) -> int:
    relative = _NOW.match(rhs)
    if relative:
        if not relative.group("sign"):
            return now
        unit = "u" if relative.group("unit") == "µ" else relative.group("unit")
        delta = int(relative.group("n")) * US[unit]
        return now - delta if relative.group("sign") == "-" else now + delta
    if rhs.startswith("'") and rhs.endswith("'"):
        try:
            return parse_time(rhs[1:-1], "Timeseries.query: time")
        except BadTime as exc:
            raise ServiceError(400, str(exc)) from None
    digits = re.fullmatch(r"(\d+)(u|ms|s|m|h|d|w)?", rhs)
    if digits:
        return int(digits.group(1)) * US[digits.group(2)] if digits.group(2) else int(digits.group(1)) // 1_000
    raise ServiceError(400, f"Timeseries.query: unsupported InfluxQL: time expression {rhs!r}")


def _group(text: str | None) -> tuple[int | None, list[str]]:
    """GROUP BY time(<duration>) and tag names, in any order: (bucket size in µs or None, tags)."""
    if not text:
        return None, []
    size, tags = None, []
    for part in (p.strip() for p in _split_commas(text)):
        match = _GROUP_TIME.match(part)
        if match and size is None:
            size = int(match.group("n")) * US[match.group("unit")]
        elif _NAME.match(part) and not part.lower().startswith("time("):
            tags.append(_name(part))
        else:
            raise ServiceError(400, f"Timeseries.query: unsupported InfluxQL: GROUP BY {text.strip()} "
                                    "(supported: GROUP BY time(<duration>) and tag names)")
    return size, tags


def _measurements(metrics: list[str]) -> list[str]:
    """Measurement names from stored metrics (`m` holds field value, `m.f` field f): the part before
    the first dot, so a measurement whose own name has a dot is listed by its first part."""
    return sorted({metric.split(".", 1)[0] for metric in metrics})


def _fill(text: str | None) -> Any:
    if text is None:
        return "null"
    value = text.strip().lower()
    if value in ("null", "none", "previous"):
        return value
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        raise ServiceError(400, f"Timeseries.query: unsupported InfluxQL: fill({text})") from None


def _order(text: str | None) -> bool:
    if not text:
        return False
    match = re.fullmatch(r"time(?:\s+(asc|desc))?", text.strip(), re.IGNORECASE)
    if not match:
        raise ServiceError(400, f"Timeseries.query: unsupported InfluxQL: ORDER BY {text.strip()} "
                                "(only ORDER BY time [ASC|DESC])")
    return (match.group(1) or "asc").lower() == "desc"


def _split_commas(text: str) -> list[str]:
    parts, depth, quote, current = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return parts


def _split_statements(text: str) -> list[str]:
    out, quote, current = [], "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == ";":
            out.append(current)
            current = ""
            continue
        current += ch
    out.append(current)
    return out


def _tokens(line: str, separator: str) -> list[str]:
    """Split on unescaped, unquoted separators (line protocol escapes with backslashes)."""
    parts, current, quoted, escaped = [], "", False, False
    for ch in line:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
            current += ch
        elif ch == separator and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _parse_line(line: str, number: int, precision: str, now: int) -> list[tuple[int, str, Any, dict[str, str]]]:
    where = f"Timeseries.write: line {number}"
    parts = [p for p in _tokens(line, " ") if p != ""]
    if len(parts) not in (2, 3):
        raise ServiceError(400, f"{where}: expected 'measurement[,tag=value...] field=value[,...] [timestamp]'")
    head = _tokens(parts[0], ",")
    measurement, tags = head[0], {}
    for pair in head[1:]:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise ServiceError(400, f"{where}: tag {pair!r}: expected key=value")
        tags[key] = value
    if len(parts) == 3:
        if not re.fullmatch(r"-?\d+", parts[2]):
            raise ServiceError(400, f"{where}: timestamp {parts[2]!r}: must be an integer")
        unit = PRECISION_US[precision]
        ts = int(parts[2]) // 1_000 if unit is None else int(parts[2]) * unit
    else:
        ts = now
    points = []
    for pair in _tokens(parts[1], ","):
        key, sep, raw = pair.partition("=")
        if not sep or not key or raw == "":
            raise ServiceError(400, f"{where}: field {pair!r}: expected key=value")
        metric = measurement if key == "value" else f"{measurement}.{key}"
        points.append((ts, metric, _field_value(raw, where), tags))
    return points


def _field_value(raw: str, where: str) -> Any:
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return raw[1:-1]
    if raw in ("t", "T", "true", "True", "TRUE"):
        return "true"
    if raw in ("f", "F", "false", "False", "FALSE"):
        return "false"
    text = raw[:-1] if raw.endswith("i") else raw
    try:
        return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
    except ValueError:
        raise ServiceError(400, f"{where}: field value {raw!r}: not a number, string or boolean") from None
