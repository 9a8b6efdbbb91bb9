"""Expectations of a case against a ScriptResult, and the readable diff a failure prints."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..runtime.result import ScriptResult

EXPECT_KEYS = ("code", "message", "message_subset", "headers", "calls", "logs", "logs_contain", "error")
CALL_KEYS = ("operation", "arguments", "status", "result", "error")


@dataclass
class Mismatch:
    """One expectation that did not hold: what was looked at, what was wanted, what was there."""

    what: str
    expected: Any
    actual: Any
    note: str = ""

    def render(self) -> str:
        head = f"{self.what}: {self.note}" if self.note else f"{self.what}:"
        if self.expected is None and self.actual is None:
            return head
        if _is_scalar(self.expected) and _is_scalar(self.actual):
            return f"{head} expected {_json(self.expected)}, got {_json(self.actual)}"
        return head + "\n" + json_diff(self.expected, self.actual)


def json_diff(expected: Any, actual: Any) -> str:
    """A unified diff of the two values as pretty, key-sorted JSON."""
    lines = difflib.unified_diff(
        _pretty(expected).splitlines(), _pretty(actual).splitlines(), "expected", "actual", lineterm="", n=3
    )
    return "\n".join(lines)


def check_expectations(expect: Mapping[str, Any], result: ScriptResult) -> list[Mismatch]:
    """Every expectation in `expect` that `result` does not meet (empty when the case passes).

    A case that does not name `error` expects the script to finish without one.
    """
    found: list[Mismatch] = []
    response = result.response
    if "error" in expect:
        wanted = expect["error"]
        if wanted is None and result.error is not None:
            found.append(Mismatch("error", None, result.error, "the script failed"))
        elif wanted is not None and (result.error is None or str(wanted) not in result.error):
            found.append(Mismatch("error", wanted, result.error, "expected an error containing the text"))
    elif result.error is not None:
        found.append(Mismatch("error", None, result.error, "the script failed"))
    if "code" in expect and expect["code"] != response.code:
        found.append(Mismatch("response.code", expect["code"], response.code))
    if "message" in expect and not _equal(expect["message"], response.message):
        found.append(Mismatch("response.message", expect["message"], response.message))
    if "message_subset" in expect:
        wanted = expect["message_subset"]
        if not contains(response.message, wanted):
            found.append(Mismatch("response.message", wanted, project(response.message, wanted), "subset not found"))
    if "headers" in expect:
        wanted = {str(k).lower(): v for k, v in expect["headers"].items()}
        actual = {k: response.headers.get(k) for k in wanted}
        if not all(_equal(str(v), actual[k]) if v is not None else actual[k] is None for k, v in wanted.items()):
            found.append(Mismatch("response.headers", wanted, actual))
    if "calls" in expect:
        found.extend(_check_calls(expect["calls"], result.calls))
    if "logs" in expect and list(expect["logs"]) != result.logs:
        found.append(Mismatch("logs", list(expect["logs"]), result.logs))
    if "logs_contain" in expect:
        missing = [text for text in expect["logs_contain"] if not any(str(text) in line for line in result.logs)]
        if missing:
            found.append(Mismatch("logs", missing, result.logs, "no log line contains the expected text"))
    return found


def _check_calls(wanted: Sequence[Mapping[str, Any]], calls: list[dict[str, Any]]) -> list[Mismatch]:
    actual = [project(call, spec) for call, spec in zip(calls, wanted, strict=False)]
    actual += [{"operation": call.get("operation")} for call in calls[len(wanted):]]
    ok = len(calls) == len(wanted) and all(contains(call, spec) for call, spec in zip(calls, wanted, strict=False))
    if ok:
        return []
    note = f"expected {len(wanted)} call(s), got {len(calls)}" if len(calls) != len(wanted) else "a call differs"
    return [Mismatch("calls", list(wanted), actual, note)]


def contains(actual: Any, wanted: Any) -> bool:
    """True when `wanted` is a subset of `actual`: mappings by key, lists item by item, scalars equal."""
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(k in actual and contains(actual[k], v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(actual, list) and len(actual) == len(wanted) and all(map(contains, actual, wanted))
        )
    return _equal(wanted, actual)


def project(actual: Any, wanted: Any) -> Any:
    """`actual` cut down to the shape of `wanted`, so a diff shows only what was asked about."""
    if isinstance(wanted, Mapping) and isinstance(actual, Mapping):
        return {k: project(actual[k], v) for k, v in wanted.items() if k in actual}
    if isinstance(wanted, list) and isinstance(actual, list) and len(actual) == len(wanted):
        return [project(a, w) for a, w in zip(actual, wanted, strict=True)]
    return actual


def _equal(wanted: Any, actual: Any) -> bool:
    # YAML's 1 and Lua's 1.0 are the same number; True is not 1.
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return type(wanted) is type(actual) and wanted == actual
    return bool(wanted == actual)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool)) and "\n" not in str(value)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)
