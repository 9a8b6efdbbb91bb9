"""The dispatcher is generic: a second service from its own data file, and clear errors for bad data files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from test_service_httpserver import Answer, RecordingServer, recording_server

from murano_sim.errors import ConfigError
from murano_sim.services import Service, load_service
from murano_sim.services.spec import load_spec, parse_spec

ECHO = Path(__file__).parent / "data" / "echo_service.yaml"
KEY = "echo-secret-key-do-not-show"


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with recording_server() as srv:
        yield srv


@pytest.fixture
def echo(server: RecordingServer) -> Service:
    return load_service(ECHO, {"base_url": server.url, "User": "alice", "ApiKey": KEY, "Space": "my space",
                               "timeout_seconds": 30, "retries": 1, "backoff_seconds": 0.01})


def test_the_second_service_has_its_own_name_globals_and_operations(echo: Service) -> None:
    assert (echo.alias, echo.global_names, echo.operations) == ("echo", ("Echo",), ("say", "fetch", "remove", "store"))


def test_a_form_post_with_config_in_the_path_and_basic_auth(server: RecordingServer, echo: Service) -> None:
    server.answer(Answer(201, {"said": "hello"}))
    outcome = echo.call("say", {"Text": "hello", "Times": 2.0, "Loud": "TRUE", "Words": ["a", "b"], "Colour": "red"})
    (seen,) = server.received
    assert (seen.method, seen.path) == ("POST", "/v1/my space/say")
    assert seen.form == [("Text", "hello"), ("Times", "2"), ("Loud", "true"), ("Words", "a"), ("Words", "b"),
                         ("Colour", "red")]
    assert seen.headers["Authorization"] == requests.auth._basic_auth_str("alice", KEY)
    assert outcome.value == {"said": "hello"} and outcome.record["service"] == "echo"


def test_a_get_with_a_path_argument_and_a_query_argument(server: RecordingServer, echo: Service) -> None:
    outcome = echo.call("fetch", {"ItemId": "it-42", "Verbose": False})
    assert server.received[0].path == "/v1/my space/items/it-42"
    assert server.received[0].query == [("Verbose", "false")] and outcome.value == {}


def test_path_values_are_escaped_so_they_cannot_change_the_path(server: RecordingServer, echo: Service) -> None:
    echo.call("remove", {"ItemId": "../../admin?x=1"})
    assert server.received[0].raw_uri == "/v1/my%20space/items/..%2F..%2Fadmin%3Fx%3D1"
    assert server.received[0].query == []


def test_a_delete_documented_as_nil_returns_nil(server: RecordingServer, echo: Service) -> None:
    server.answer(Answer(204, b""))
    assert echo.call("remove", {"ItemId": "x"}).value is None


def test_a_json_body_keeps_json_types(server: RecordingServer, echo: Service) -> None:
    echo.call("store", {"Name": "doc", "Count": "3", "Ratio": 0.5, "Public": True, "Site": "https://x.example.com"})
    seen = server.received[0]
    assert (seen.method, seen.headers["Content-Type"]) == ("PUT", "application/json")
    assert json.loads(seen.body) == {"Count": 3, "Ratio": 0.5, "Public": True, "Site": "https://x.example.com"}


def test_its_own_rules_are_enforced_before_http(server: RecordingServer, echo: Service) -> None:
    assert echo.call("fetch", {"ItemId": "42"}).value["error"] == "ItemId: must look like it-123"
    assert echo.call("say", {"Times": 1}).value["error"] == "Text or Words: one of these is required"
    assert echo.call("say", {"Text": "x", "Colour": "blue"}).value["error"].startswith("Colour: must be one of red")
    assert echo.call("store", {}).value["error"] == "Name: is required"
    assert server.received == []


def test_its_secret_config_parameter_is_redacted(server: RecordingServer, echo: Service) -> None:
    server.answer(Answer(400, f"bad key {KEY}"))
    outcome = echo.call("say", {"Text": KEY})
    assert KEY not in repr(outcome) and KEY not in repr(echo)


def test_a_missing_config_parameter_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"services\.echo\.ApiKey is missing"):
        load_service(ECHO, {"base_url": "http://127.0.0.1:1", "User": "alice", "Space": "s"})


def test_a_malformed_config_parameter_is_named_but_not_shown() -> None:
    with pytest.raises(ConfigError, match=r"services\.echo\.User is malformed") as caught:
        load_service(ECHO, {"base_url": "http://127.0.0.1:1", "User": "Alice99", "ApiKey": KEY, "Space": "s"})
    assert "Alice99" not in str(caught.value)


def test_the_shipped_twilio_file_loads() -> None:
    spec = load_spec(Path(__file__).resolve().parents[1] / "murano_sim" / "services" / "twilio" / "spec.yaml")
    assert len(spec.operations) == 12 and spec.secret_keys() == ["AuthToken"]


GOOD = {"alias": "x", "operations": {"op": {"method": "GET", "path": "/a/{Id}", "arguments": {"Id": {"in": "path"}}}}}


def _with(**changes: object) -> dict:
    data = json.loads(json.dumps(GOOD))
    op = data["operations"]["op"]
    for key, value in changes.items():
        if key.startswith("arg_"):
            op["arguments"]["Id"][key[4:]] = value
        elif key == "alias":
            data["alias"] = value
        else:
            op[key] = value
    return data


@pytest.mark.parametrize(("data", "message"), [
    (_with(alias="Bad Alias"), "alias must be a lower-case name"),
    (_with(method="FETCH"), "operations.op.method: must be one of"),
    (_with(path="a/{Id}"), "operations.op.path: must start with /"),
    (_with(path="/a/{Other}"), "{Other} must be a config parameter or an argument with in: path"),
    (_with(arg_type="float"), "arguments.Id.type: must be one of string, integer"),
    (_with(arg_in="header"), "arguments.Id.in: must be one of path, query, form, json"),
    (_with(arg_format="email"), "arguments.Id.format: must be one of"),
    (_with(arg_pattern="("), "arguments.Id.pattern: not a valid regular expression"),
    (_with(arg_colour="red"), "arguments.Id: unknown key 'colour'"),
    (_with(require=[["Nope"]]), "require: 'Nope' is not an argument"),
    (_with(returns="list"), "returns: must be object or nil"),
    (_with(success=500), "success: must be a 2xx status"),
    ({"alias": "x", "operations": {"op": {"method": "GET", "path": "/a", "arguments": {"B": {"in": "form"}}}}},
     "a GET request has no body"),
    ({"alias": "x", "auth": {"type": "basic", "username": "U", "password": "P"}, "operations": GOOD["operations"]},
     "auth.username must name a parameter listed under config"),
    ({"alias": "x"}, "operations must be a non-empty mapping"),
    ([1, 2], "the top level must be a mapping"),
])
def test_a_malformed_data_file_is_a_one_line_config_error(data: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_spec(data, "svc.yaml")
    assert message in str(caught.value) and str(caught.value).startswith("svc.yaml") and "\n" not in str(caught.value)


def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("alias: x\noperations: {op: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+: "):
        load_spec(bad)
