"""Interface: exposed operations called with context.caller_id; trigger to subscribers; subscriber events."""

from __future__ import annotations

from pathlib import Path

import pytest

SOLUTION = Path(__file__).parent / "solutions" / "nested"


@pytest.fixture
def served(murano_solution):
    return murano_solution(SOLUTION)


def test_an_exposed_operation_answers_with_its_return_value_and_sees_the_caller(served):
    assert served.call_interface("double", {"n": 4}, caller_id="app-1") == {"doubled": 8, "caller": "app-1"}
    assert served.call_interface("nothing") is None


def test_trigger_reaches_the_subscriber_handler_of_the_same_solution(served):
    assert served.post("/product-event").json() == {"status": 204, "status_code": 204}
    assert served.get("/value/from_product").json() == {"value": "dev-7"}


def test_set_subscriber_fires_subscriber_added_and_lists_it(served):
    served.post("/subscribe/app-9")
    assert served.get("/value/subscriber").json() == {"value": "app-9"}
    listed = served.get("/subscribers").json()
    assert listed["total"] == 2 and [s["solution_id"] for s in listed["items"]] == ["app-9", "self"]
