"""The Twilio service end to end against a real loopback server: all twelve operations' requests,
results, error tables, call records, retries through the service, and secrets kept out of sight."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests
from test_service_httpserver import Answer, RecordingServer, recording_server, unused_port

from murano_sim import load_config
from murano_sim.errors import ConfigError, UsageError
from murano_sim.services import LOCAL_BASE_URL, Service, load_services
from murano_sim.services.twilio.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

SID = "AC" + "a1" * 16
TOKEN = "f0" * 16
CA = "CA" + "0" * 32
SM = "SM" + "1" * 32
ME = "ME" + "2" * 32
PREFIX = f"/2010-04-01/Accounts/{SID}"


def live_config(url: str, **twilio: object) -> object:
    section = {"backend": "live", "base_url": url, "AccountSid": SID, "AuthToken": TOKEN, "backoff_seconds": 0.01}
    section.update(twilio)
    return load_config({"services": {"twilio": section}})


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with recording_server() as srv:
        yield srv


@pytest.fixture
def twilio(server: RecordingServer) -> Iterator[Service]:
    service = load_services(live_config(server.url))["twilio"]
    yield service
    service.close()


OPERATIONS = [
    # operation, arguments, method, path, query, form
    ("createCall", {"To": "+15555555555", "From": "+15555555550", "Url": "https://x.example.com/twiml",
                    "StatusCallbackEvent": ["ringing", "completed"], "Record": True, "Timeout": 30.0,
                    "SendDigits": "1234#", "Method": "GET"},
     "POST", "/Calls.json", {},
     {"To": ["+15555555555"], "From": ["+15555555550"], "Url": ["https://x.example.com/twiml"],
      "StatusCallbackEvent": ["ringing", "completed"], "Record": ["true"], "Timeout": ["30"],
      "SendDigits": ["1234#"], "Method": ["GET"]}),
    ("deleteCall", {"CallSid": CA}, "DELETE", f"/Calls/{CA}.json", {}, {}),
    ("getCall", {"CallSid": CA}, "GET", f"/Calls/{CA}.json", {}, {}),
    ("listCall", {"PageSize": 20, "Status": "completed", "StartTime": "2024-02-29", "To": "client:alice"},
     "GET", "/Calls.json",
     {"PageSize": ["20"], "Status": ["completed"], "StartTime": ["2024-02-29"], "To": ["client:alice"]}, {}),
    ("deleteMedia", {"MessageSid": SM, "MediaSid": ME}, "DELETE", f"/Messages/{SM}/Media/{ME}.json", {}, {}),
    ("getMedia", {"MessageSid": SM, "MediaSid": ME}, "GET", f"/Messages/{SM}/Media/{ME}.json", {}, {}),
    ("listMedia", {"MessageSid": SM, "DateCreated": "2024-01-02"}, "GET", f"/Messages/{SM}/Media.json",
     {"DateCreated": ["2024-01-02"]}, {}),
    ("deleteMessage", {"MessageSid": SM}, "DELETE", f"/Messages/{SM}.json", {}, {}),
    ("getMessage", {"MessageSid": SM}, "GET", f"/Messages/{SM}.json", {}, {}),
    ("listMessage", {"From": "+16125550923", "DateSent": "2024-01-02"}, "GET", "/Messages.json",
     {"From": ["+16125550923"], "DateSent": ["2024-01-02"]}, {}),
    ("postMessage", {"To": "+17635551234", "From": "+16125550923", "Body": "Héllo & good bye = 100%",
                     "MediaUrl": "https://x.example.com/a.png", "SmartEncoded": "false", "MaxPrice": 0.05},
     "POST", "/Messages.json", {},
     {"To": ["+17635551234"], "From": ["+16125550923"], "Body": ["Héllo & good bye = 100%"],
      "MediaUrl": ["https://x.example.com/a.png"], "SmartEncoded": ["false"], "MaxPrice": ["0.05"]}),
    ("createToken", {"Ttl": 3600}, "POST", "/Tokens.json", {}, {"Ttl": ["3600"]}),
]


def test_the_service_has_the_twelve_documented_operations(twilio: Service) -> None:
    assert set(twilio.operations) == {
        "createCall", "deleteCall", "getCall", "listCall", "deleteMedia", "getMedia", "listMedia",
        "deleteMessage", "getMessage", "listMessage", "postMessage", "createToken",
    }
    assert twilio.global_names == ("Twilio", "twilio") and twilio.alias == "twilio"


@pytest.mark.parametrize(("operation", "arguments", "method", "path", "query", "form"), OPERATIONS,
                         ids=[row[0] for row in OPERATIONS])
def test_each_operation_sends_its_documented_request(
    server: RecordingServer, twilio: Service, operation, arguments, method, path, query, form
) -> None:
    outcome = twilio.call(operation, arguments)
    assert outcome.warnings == []
    (seen,) = server.received
    assert (seen.method, seen.path) == (method, PREFIX + path)
    assert seen.query_dict() == query
    assert seen.form_dict() == form
    assert seen.headers["Authorization"] == requests.auth._basic_auth_str(SID, TOKEN)
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["User-Agent"].startswith("murano-sim/")
    if method == "POST":
        assert seen.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_media_url_array_goes_out_as_repeated_keys(server: RecordingServer, twilio: Service) -> None:
    urls = [f"https://x.example.com/{i}.jpg" for i in range(3)]
    twilio.call("postMessage", {"To": "+15551230000", "From": "+15005550006", "MediaUrl": urls})
    expected = [("To", "+15551230000"), ("From", "+15005550006")] + [("MediaUrl", u) for u in urls]
    assert server.received[0].form == expected


def test_defaults_are_not_sent(server: RecordingServer, twilio: Service) -> None:
    twilio.call("listMessage", None)
    twilio.call("createToken", {})
    assert server.received[0].query == [] and server.received[1].form == []


def test_json_result_is_returned_as_plain_data(server: RecordingServer, twilio: Service) -> None:
    body = {"sid": SM, "num_segments": "1", "error_code": None, "subresource_uris": {"media": "/m.json"}}
    server.answer(Answer(201, body))
    outcome = twilio.call("postMessage", {"To": "+15551230000", "From": "+15005550006", "Body": "x"})
    assert outcome.value == body
    assert outcome.record["result"] == body and outcome.record["status"] == 201 and "error" not in outcome.record


@pytest.mark.parametrize("operation", ["deleteCall", "deleteMessage"])
def test_delete_returns_nil(server: RecordingServer, twilio: Service, operation: str) -> None:
    server.answer(Answer(204, b""))
    arguments = {"CallSid": CA} if operation == "deleteCall" else {"MessageSid": SM}
    outcome = twilio.call(operation, arguments)
    assert outcome.value is None and outcome.record["status"] == 204 and outcome.record["result"] is None


def test_a_twilio_error_is_a_query_error_whose_text_is_the_json_body(server: RecordingServer, twilio: Service) -> None:
    body = {"code": 21211, "message": "The 'To' number is not valid.", "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400}
    server.answer(Answer(400, body))
    outcome = twilio.call("postMessage", {"To": "+15005550001", "From": "+15005550006", "Body": "x"})
    assert outcome.value["type"] == "QueryError" and outcome.value["status"] == 400
    assert json.loads(outcome.value["error"])["code"] == 21211
    assert outcome.record["error"] == outcome.value["error"] and "result" not in outcome.record


def test_a_server_failure_is_a_server_error(server: RecordingServer, twilio: Service) -> None:
    server.default = Answer(503, "unavailable")
    outcome = twilio.call("getCall", {"CallSid": CA})
    assert outcome.value == {"error": "unavailable", "status": 503, "type": "ServerError", "status_code": 503}
    assert len(server.received) == 4  # three retries for a GET
    assert len(outcome.warnings) == 3 and outcome.warnings[0].startswith("Twilio.getCall: HTTP 503; retrying in")


def test_a_dropped_post_message_is_sent_once_and_reported(server: RecordingServer, twilio: Service) -> None:
    server.default = Answer(drop=True)
    outcome = twilio.call("postMessage", {"To": "+15551230000", "From": "+15005550006", "Body": "x"})
    assert outcome.value["type"] == "ServerError" and outcome.value["status"] == 502
    assert len(server.received) == 1 and outcome.warnings == []


def test_a_timed_out_create_call_is_sent_once_and_reported(server: RecordingServer) -> None:
    twilio = load_services(live_config(server.url, timeout_seconds=0.2))["twilio"]
    server.default = Answer(201, {"sid": CA}, delay=0.6)
    outcome = twilio.call("createCall", {"To": "+15551230000", "From": "+15005550006", "Url": "https://x.example.com/"})
    assert outcome.value["type"] == "ServerError" and outcome.value["status"] == 504
    assert len(server.wait_for_requests(1)) == 1


def test_refused_connection_is_a_server_error_after_retries() -> None:
    twilio = load_services(live_config(f"http://127.0.0.1:{unused_port()}", retries=1))["twilio"]
    outcome = twilio.call("postMessage", {"To": "+15551230000", "From": "+15005550006", "Body": "x"})
    assert outcome.value["type"] == "ServerError" and outcome.value["status"] == 503
    assert "connection refused" in outcome.value["error"] and len(outcome.warnings) == 1


def test_the_deadline_is_passed_to_the_transport(server: RecordingServer, twilio: Service) -> None:
    server.default = Answer(503, "x", headers={"Retry-After": "10"})  # a wait the 5 s deadline has no room for
    twilio.call("listCall", None, deadline=time.monotonic() + 5)
    assert len(server.received) == 1


def test_validation_failure_sends_nothing_and_is_recorded(server: RecordingServer, twilio: Service) -> None:
    outcome = twilio.call("postMessage", {"To": "12345", "From": "+15005550006", "Body": "x"})
    assert outcome.value == {"error": "To: must be an E.164 phone number like +16175551212", "status": 400,
                             "type": "QueryError", "status_code": 400}
    assert outcome.record == {"service": "twilio", "operation": "postMessage",
                              "arguments": {"To": "12345", "From": "+15005550006", "Body": "x"}, "status": 400,
                              "error": outcome.value["error"], "duration_ms": outcome.record["duration_ms"]}
    assert isinstance(outcome.record["duration_ms"], float) and server.received == []


def test_record_has_the_documented_keys_in_order(server: RecordingServer, twilio: Service) -> None:
    outcome = twilio.call("getMessage", {"MessageSid": SM})
    assert list(outcome.record) == ["service", "operation", "arguments", "status", "result", "duration_ms"]


def test_an_unknown_operation_is_a_query_error_not_an_exception(twilio: Service) -> None:
    outcome = twilio.call("sendFax", {})
    assert outcome.value["type"] == "QueryError" and "no such operation" in outcome.value["error"]


# --- secrets ---------------------------------------------------------------------------------

def test_the_auth_token_never_appears_in_results_records_warnings_or_reprs(server: RecordingServer,
                                                                             twilio: Service) -> None:
    # A server that echoes the token back, and a script that passes it as an argument.
    server.answer(Answer(400, {"message": f"bad token {TOKEN}"}), Answer(201, {"echo": [TOKEN, {"k": TOKEN}]}))
    failed = twilio.call("postMessage", {"To": "+15551230000", "From": "+15005550006", "Body": TOKEN, TOKEN: 1})
    succeeded = twilio.call("postMessage", {"To": "+15551230000", "From": "+15005550006", "Body": "x"})
    visible = repr((failed, succeeded, twilio, twilio.transport, twilio.spec))
    assert TOKEN not in visible and "[REDACTED]" in visible


def test_live_backend_with_a_malformed_token_stops_before_any_call() -> None:
    config = load_config({"services": {"twilio": {"backend": "live", "AccountSid": SID, "AuthToken": "short"}}})
    with pytest.raises(ConfigError) as caught:
        load_services(config)
    assert "AuthToken is malformed" in str(caught.value) and "short" not in str(caught.value)


def test_local_backend_uses_the_given_emulator_url_and_session(server: RecordingServer) -> None:
    session = requests.Session()
    twilio = load_services(load_config({}), base_urls={"twilio": server.url}, session=session)["twilio"]
    twilio.call("createToken", None)
    assert twilio.transport.session is session
    assert server.received[0].path == f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Tokens.json"
    expected = requests.auth._basic_auth_str(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
    assert server.received[0].headers["Authorization"] == expected


def test_local_backend_without_the_emulator_url_refuses_to_guess() -> None:
    with pytest.raises(UsageError, match="base_urls"):
        load_services(load_config({}))
    assert LOCAL_BASE_URL.endswith(".invalid")


@pytest.mark.parametrize(("key", "value"), [("retries", -1), ("retries", 1.5), ("backoff_seconds", "fast")])
def test_retry_settings_are_validated_in_config(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"services.twilio.{key}"):
        load_config({"services": {"twilio": {key: value}}})
