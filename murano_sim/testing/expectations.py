"""Expectations of a case against a ScriptResult, and the readable diff a failure prints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..runtime.result import ScriptResult
from ..services.control import Mismatch, _equal, contains, json_diff, project

# Mismatch and the matchers live with the controls (services/control.py); imported here by cases and tests.
__all__ = ["CALL_KEYS", "EXPECT_KEYS", "Mismatch", "_equal", "check_expectations", "contains", "json_diff", "project"]

EXPECT_KEYS = ("code", "message", "message_subset", "headers", "calls", "logs", "logs_contain", "error")
CALL_KEYS = ("operation", "arguments", "status", "result", "error")


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
