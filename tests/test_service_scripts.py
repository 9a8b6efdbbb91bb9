"""Scripts.trigger runs one of the solution's handlers (sync inside the caller's execution, async after it);
Scripts.sandbox runs a snippet in a bare environment."""

from __future__ import annotations

from pathlib import Path

import pytest

SOLUTION = Path(__file__).parent / "solutions" / "nested"


@pytest.fixture
def served(murano_solution):
    return murano_solution(SOLUTION)


def test_sync_trigger_returns_the_handler_value_from_inside_the_caller_execution(served):
    assert served.get("/sync", params={"n": 21}).json() == {"doubled": 42, "caller": "scripts"}
    assert len(served.results) == 1  # one execution: the handler ran nested in the endpoint's


def test_async_trigger_runs_the_handler_after_the_current_execution(served):
    answer = served.get("/async", params={"note": "later"}).json()
    assert answer == {"queued": {"status": 204, "status_code": 204}}  # not seen while the endpoint ran
    assert served.get("/note").json() == {"value": "later"}


def test_a_missing_or_failing_handler_is_an_error_table_for_the_caller(served):
    missing = served.get("/missing").json()
    assert missing["status"] == 404 and "no handler for scripts nothere" in missing["error"]
    failing = served.get("/failing").json()
    assert failing["status"] == 500 and "handler broke" in failing["error"]


def test_a_nested_handler_shares_the_caller_budget_and_cannot_outrun_it(served):
    response = served.get("/runaway")
    assert response.status_code == 500
    assert "instruction limit exceeded" in (served.results[-1].error or "")
    assert served.get("/sync", params={"n": 1}).json()["doubled"] == 2  # the next request is clean


@pytest.mark.parametrize("script, expected", [
    ("return x + y", {"value": 42}),
    ("return parameters.x", {"value": 20}),
    ("return type(Keystore) .. type(print) .. type(require)", {"value": "nilnilnil"}),
])
def test_sandbox_runs_a_snippet_with_its_parameters_and_no_services(served, script, expected):
    assert served.get("/sandbox", params={"script": script}).json() == expected


def test_sandbox_errors_and_timeouts_are_error_tables_not_the_callers_failure(served):
    broken = served.get("/sandbox", params={"script": "return (("}).json()
    assert broken["status"] == 400 and "sandbox" in broken["error"]
    served.runtime.config.data["lua"]["max_instructions"] = 10**9  # let the wall clock decide
    slow = served.get("/sandbox", params={"script": "while true do end"}).json()
    assert slow["status"] == 400 and "ran past its timeout" in slow["error"]
