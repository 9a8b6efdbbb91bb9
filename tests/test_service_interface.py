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


def test_an_operation_handler_reads_its_argument_as_event_or_operation(murano_solution, tmp_path):
    # Exosite's getting-started template reads `event.message` in services/interface/myOp.lua, the
    # IoT-connector templates read `operation`: both name the one argument
    (tmp_path / "services" / "interface").mkdir(parents=True)
    (tmp_path / "services" / "interface" / "myOp.lua").write_text(
        'local says = "Subscriber " .. context.caller_id .. " says " .. event.message\n'
        "return {says = says, same = rawequal(event, operation)}\n")
    served = murano_solution(tmp_path)
    assert served.call_interface("myOp", {"message": "hi"}, caller_id="app-2") == {
        "says": "Subscriber app-2 says hi", "same": True}
