"""Case expectations: subset matching, projection for focused diffs, and the mismatches reported."""

from __future__ import annotations

import pytest

from murano_sim.runtime.result import Response, ScriptResult
from murano_sim.testing.expectations import Mismatch, check_expectations, contains, json_diff, project


def result(code=200, message="Ok", headers=None, logs=(), calls=(), error=None) -> ScriptResult:
    return ScriptResult(Response(code, message, dict(headers or {})), list(logs), list(calls), error)


@pytest.mark.parametrize(
    ("actual", "wanted", "expected"),
    [
        ({"a": 1, "b": 2}, {"a": 1}, True),
        ({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}, True),
        ({"a": 1}, {"a": 1, "z": None}, False),
        ([{"a": 1, "x": 0}, {"a": 2}], [{"a": 1}, {"a": 2}], True),
        ([{"a": 1}], [{"a": 1}, {"a": 2}], False),
        (1.0, 1, True),
        (1, True, False),
        ("1", 1, False),
        ({"a": [1, 2]}, {"a": [1, 2]}, True),
    ],
)
def test_contains(actual, wanted, expected):
    assert contains(actual, wanted) is expected


def test_project_keeps_only_what_was_asked_about():
    actual = {"sid": "SM1", "status": "queued", "nested": {"a": 1, "b": 2}}
    assert project(actual, {"status": "sent", "nested": {"a": 0}}) == {"status": "queued", "nested": {"a": 1}}


def test_a_result_meeting_everything_has_no_mismatches():
    calls = [{"operation": "postMessage", "arguments": {"To": "+1", "Body": "x"}, "status": 201}]
    expect = {"code": 201, "message_subset": {"ok": True}, "headers": {"Content-Type": "application/json"},
              "calls": [{"operation": "postMessage", "arguments": {"To": "+1"}, "status": 201}],
              "logs": ["a", "b"], "logs_contain": ["b"]}
    assert check_expectations(expect, result(201, {"ok": True, "more": 1}, {"content-type": "application/json"},
                                             ["a", "b"], calls)) == []


def test_each_failed_expectation_is_one_mismatch():
    expect = {"code": 201, "message": "yes", "headers": {"x-a": "1"}, "logs_contain": ["missing"]}
    found = check_expectations(expect, result(400, "no", {"x-a": "2"}, ["present"]))
    assert [m.what for m in found] == ["response.code", "response.message", "response.headers", "logs"]


def test_a_header_expected_as_null_must_be_absent():
    assert check_expectations({"headers": {"x-a": None}}, result(headers={})) == []
    assert [m.what for m in check_expectations({"headers": {"x-a": None}}, result(headers={"x-a": "1"}))] == [
        "response.headers"
    ]


def test_an_unexpected_error_is_a_mismatch_even_when_not_mentioned():
    [mismatch] = check_expectations({}, result(500, error="s.lua:1: boom"))
    assert mismatch.render() == 'error: the script failed expected null, got "s.lua:1: boom"'


def test_error_null_and_error_text():
    assert check_expectations({"error": None}, result()) == []
    assert check_expectations({"error": "boom"}, result(error="s.lua:1: boom")) == []
    assert [m.what for m in check_expectations({"error": "bang"}, result(error="s.lua:1: boom"))] == ["error"]


def test_extra_calls_are_shown_by_operation():
    calls = [{"operation": "postMessage", "arguments": {}}, {"operation": "listMessage", "arguments": {}}]
    [mismatch] = check_expectations({"calls": [{"operation": "postMessage"}]}, result(calls=calls))
    assert mismatch.note == "expected 1 call(s), got 2"
    assert mismatch.actual == [{"operation": "postMessage"}, {"operation": "listMessage"}]


def test_render_structures_as_a_unified_diff():
    text = Mismatch("response.message", {"a": 1, "b": 2}, {"a": 1, "b": 3}).render()
    assert text.splitlines()[:3] == ["response.message:", "--- expected", "+++ actual"]
    assert '-  "b": 2' in text and '+  "b": 3' in text


def test_json_diff_is_empty_for_equal_values():
    assert json_diff({"a": [1, 2]}, {"a": [1, 2]}) == ""
