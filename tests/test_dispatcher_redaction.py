"""The call log's last line of defence (dispatcher.redacted): a secret anywhere in a record is
replaced, plain data comes back as the very same object (no copy per call)."""

from __future__ import annotations

from typing import Any

import pytest

from murano_sim.services.dispatcher import REDACTED, redacted

SECRETS = ["s3cr3t-token", "pw"]


@pytest.mark.parametrize("record", [
    {"service": "keystore", "operation": "set", "arguments": {"key": "k1", "value": "v1"}, "status": 200},
    {"result": [1, 2.5, True, None, {"nested": ["a", {"b": "c"}]}]},
    [],
    {},
    "plain",
    None,
])
def test_plain_data_is_returned_as_it_is(record: Any) -> None:
    assert redacted(record, SECRETS) is record


@pytest.mark.parametrize("record, path", [
    ({"arguments": {"token": "s3cr3t-token"}}, ("arguments", "token")),
    ({"result": [{"x": ["a", "my pw here"]}]}, ("result", 0, "x", 1)),
    ({"result": {"deep": {"deeper": {"deepest": "xx s3cr3t-token yy"}}}}, ("result", "deep", "deeper", "deepest")),
])
def test_a_secret_in_a_value_at_any_depth_is_replaced(record: Any, path: tuple[Any, ...]) -> None:
    shown = redacted(record, SECRETS)
    value = shown
    for step in path:
        value = value[step]
    assert "s3cr3t-token" not in value and " pw " not in value and REDACTED in value
    assert "s3cr3t-token" in str(record) or "pw" in str(record)  # the original is not changed


def test_a_secret_in_a_key_is_replaced() -> None:
    shown = redacted({"result": {"s3cr3t-token": 1}}, SECRETS)
    assert "s3cr3t-token" not in str(shown)


def test_a_secret_in_a_non_json_container_is_replaced() -> None:
    shown = redacted({"result": ("a", "s3cr3t-token")}, SECRETS)
    assert "s3cr3t-token" not in str(shown)


def test_an_empty_secret_redacts_nothing() -> None:
    record = {"a": "b"}
    assert redacted(record, ["", *SECRETS]) is record
