"""How Murano shows values in its log: Go-style rendering of print() arguments and durations."""

from __future__ import annotations

from typing import Any


def render(value: Any) -> str:
    """A converted Lua value as Murano's log prints it: `map[a:foo b:2]`, `[1 2 3]`, `<nil>`."""
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return f"{value:.14g}"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{render(v)}" for k, v in value.items()) + "]"
    if isinstance(value, list):
        return "[" + " ".join(render(v) for v in value) + "]"
    return str(value)


def format_duration(seconds: float) -> str:
    """Go's time.Duration.String(), as bench.measure reports elapsed time: "122.145329ms"."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_trim(ns / 1e3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_trim(ns / 1e6)}ms"
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = f"{_trim(rest / 1e9)}s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _trim(number: float) -> str:
    return f"{number:.9f}".rstrip("0").rstrip(".")
