"""Murano's argument rules: each rule, each operation's required fields, and the unknown-name warning.

Validation happens before any HTTP, so these tests call the validator on the shipped data file;
one test confirms through a real server that a rejected call sends nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_service_httpserver import recording_server

from murano_sim.services import load_service
from murano_sim.services.spec import load_spec
from murano_sim.services.validation import ArgumentError, check_call

SPEC = load_spec(Path(__file__).resolve().parents[1] / "murano_sim" / "services" / "twilio" / "spec.yaml")
SID34 = "CA" + "0" * 32
MESSAGE = {"To": "+15551230000", "From": "+15005550006", "Body": "hi"}
CALL = {"To": "+15551230000", "From": "+15005550006", "Url": "https://x.example.com/twiml"}


def error_for(operation: str, arguments: object) -> str | None:
    try:
        check_call(SPEC.operations[operation], arguments, f"Twilio.{operation}")
    except ArgumentError as exc:
        return str(exc)
    return None


def sent(operation: str, arguments: object) -> list[tuple[str, str]]:
    request = check_call(SPEC.operations[operation], arguments, f"Twilio.{operation}")
    return request.form + request.query


REJECTED = [
    # E.164 and friends
    ("postMessage", {**MESSAGE, "To": "16175551212"}, "To: must be an E.164 phone number like +16175551212"),
    ("postMessage", {**MESSAGE, "To": "+0123"}, "To: must be an E.164 phone number like +16175551212"),
    ("postMessage", {**MESSAGE, "To": "+1234567890123456"}, "To: must be an E.164 phone number like +16175551212"),
    ("postMessage", {**MESSAGE, "To": "sip:alice@example.com"}, "To: must be an E.164 phone number"),
    ("postMessage", {**MESSAGE, "From": "A-Very-Long-Sender"}, "From: must be an E.164 phone number like "
                                                                "+16175551212 or an alphanumeric sender ID"),
    ("createCall", {**CALL, "To": "tel:+15551230000"}, "To: must be an E.164 phone number like +16175551212, "
                                                       "a sip: address or a client: identifier"),
    ("createCall", {**CALL, "From": "client:"}, "From: must be an E.164 phone number"),
    # SIDs and patterns
    ("getCall", {"CallSid": "CA123"}, "CallSid: must be a 34-character SID of letters and digits"),
    ("getMessage", {"MessageSid": "SM" + "_" * 32}, "MessageSid: must be a 34-character SID of letters and digits"),
    ("createCall", {**CALL, "SendDigits": "12a"}, "SendDigits: may contain only digits, #, * and w"),
    ("postMessage", {**MESSAGE, "MaxPrice": "1,50"}, "MaxPrice: must be a decimal amount like 0.05"),
    # URIs
    ("createCall", {**CALL, "Url": "/relative/twiml"}, "Url: must be an absolute http:// or https:// URL"),
    ("createCall", {**CALL, "Url": "ftp://x.example.com/t"}, "Url: must be an absolute http:// or https:// URL"),
    ("createCall", {**CALL, "Url": "https://bad_host.example.com/t"}, "Url: must be an absolute"),
    ("postMessage", {**MESSAGE, "MediaUrl": ["https://x.example.com/a.png", "not a url"]}, "MediaUrl: must be an abs"),
    # enumerations
    ("createCall", {**CALL, "Method": "DELETE"}, "Method: must be one of GET, PUT, POST, got 'DELETE'"),
    ("createCall", {**CALL, "FallbackMethod": "PUT"}, "FallbackMethod: must be one of GET, POST, got 'PUT'"),
    ("createCall", {**CALL, "IfMachine": "hangup"}, "IfMachine: must be one of Continue, Hangup"),
    ("createCall", {**CALL, "StatusCallbackEvent": ["ringing", "busy"]}, "StatusCallbackEvent: must be one of "
                                                                         "initiated, ringing, answered, completed"),
    ("listCall", {"Status": "done"}, "Status: must be one of queued, ringing, in-progress, canceled"),
    # integers, numbers, booleans, strings, arrays
    ("createToken", {"Ttl": 1.5}, "Ttl: must be an integer, got 1.5"),
    ("createToken", {"Ttl": "abc"}, "Ttl: must be an integer, got 'abc'"),
    ("createToken", {"Ttl": True}, "Ttl: must be an integer, got a boolean"),
    ("listMessage", {"PageSize": {"n": 1}}, "PageSize: must be an integer, got a table"),
    ("postMessage", {**MESSAGE, "SmartEncoded": "yes"}, "SmartEncoded: must be true or false, got 'yes'"),
    ("postMessage", {**MESSAGE, "ProvideFeedback": 1}, "ProvideFeedback: must be true or false, got 1"),
    ("postMessage", {**MESSAGE, "Body": 42}, "Body: must be a string, got a number"),
    ("postMessage", {**MESSAGE, "MediaUrl": {"a": "b"}}, "MediaUrl: must be a string or an array of strings"),
    ("postMessage", {**MESSAGE, "MaxPrice": True}, "MaxPrice: must be a number, got a boolean"),
    # dates
    ("listMessage", {"DateSent": "01/02/2024"}, "DateSent: must be a date given as YYYY-MM-DD"),
    ("listCall", {"StartTime": "2023-02-29"}, "StartTime: must be a date given as YYYY-MM-DD"),
    ("listMedia", {"MessageSid": SID34, "DateCreated": "2024-01-02T00:00:00Z"}, "DateCreated: must be a date"),
    # the argument itself
    ("postMessage", "hello", "arguments: must be a table of named arguments, got a string"),
    ("postMessage", ["+15551230000"], "arguments: must be a table of named arguments, got an array"),
]


@pytest.mark.parametrize(("operation", "arguments", "message"), REJECTED, ids=[r[2][:48] for r in REJECTED])
def test_a_rule_violation_names_the_argument_and_the_rule(operation: str, arguments: object, message: str) -> None:
    error = error_for(operation, arguments)
    assert error is not None and error.startswith(message)


ONE_OF_BODY = "Body or MediaUrl: one of these is required"
REQUIRED = [
    ("createCall", {}, "To: is required"),
    ("createCall", {"To": "+15551230000"}, "From: is required"),
    ("createCall", {"To": "+15551230000", "From": "+15005550006"}, "Url or ApplicationSid: one of these is required"),
    ("postMessage", {}, "To: is required"),
    ("postMessage", {"To": "+15551230000", "Body": "x"}, "From or MessagingServiceSid: one of these is required"),
    ("postMessage", {"To": "+15551230000", "From": "+15005550006"}, ONE_OF_BODY),
    ("postMessage", {"To": "+15551230000", "From": "+15005550006", "Body": ""}, ONE_OF_BODY),
    ("postMessage", {"To": "+15551230000", "From": "+15005550006", "MediaUrl": []}, ONE_OF_BODY),
    ("deleteCall", None, "CallSid: is required"),
    ("getCall", {}, "CallSid: is required"),
    ("deleteMessage", {}, "MessageSid: is required"),
    ("getMessage", {}, "MessageSid: is required"),
    ("listMedia", {}, "MessageSid: is required"),
    ("getMedia", {"MessageSid": SID34}, "MediaSid: is required"),
    ("deleteMedia", {"MediaSid": SID34}, "MessageSid: is required"),
]


@pytest.mark.parametrize(("operation", "arguments", "message"), REQUIRED, ids=[f"{r[0]}:{r[2][:30]}" for r in REQUIRED])
def test_each_operations_required_fields(operation: str, arguments: object, message: str) -> None:
    assert error_for(operation, arguments) == message


ACCEPTED = [
    ("postMessage", {**MESSAGE, "From": None, "MessagingServiceSid": "MG" + "a" * 32}, [
        ("To", "+15551230000"), ("Body", "hi"), ("MessagingServiceSid", "MG" + "a" * 32)]),
    ("postMessage", {"To": "+15551230000", "From": "MyCompany", "MediaUrl": "https://x.example.com/a.gif"}, [
        ("To", "+15551230000"), ("From", "MyCompany"), ("MediaUrl", "https://x.example.com/a.gif")]),
    ("postMessage", {**MESSAGE, "ValidityPeriod": "600", "ProvideFeedback": True, "MaxPrice": "0.5"}, [
        ("To", "+15551230000"), ("From", "+15005550006"), ("Body", "hi"), ("ValidityPeriod", "600"),
        ("ProvideFeedback", "true"), ("MaxPrice", "0.5")]),
    ("createCall", {**CALL, "To": "sip:alice@example.com", "From": "client:bob", "Record": "true",
                    "Timeout": 3600.0, "IfMachine": "Continue", "SendDigits": "ww1234#*"}, [
        ("To", "sip:alice@example.com"), ("From", "client:bob"), ("Url", CALL["Url"]), ("Record", "true"),
        ("Timeout", "3600"), ("IfMachine", "Continue"), ("SendDigits", "ww1234#*")]),
    ("createCall", {"To": "+15551230000", "From": "+15005550006", "ApplicationSid": "AP" + "b" * 32}, [
        ("To", "+15551230000"), ("From", "+15005550006"), ("ApplicationSid", "AP" + "b" * 32)]),
    ("createToken", {"Ttl": 3600}, [("Ttl", "3600")]),
    ("createToken", None, []),
    ("createToken", [], []),
    ("listCall", {"PageSize": "25", "ParentCallSid": SID34, "From": "+15005550006"}, [
        ("PageSize", "25"), ("ParentCallSid", SID34), ("From", "+15005550006")]),
]


@pytest.mark.parametrize(("operation", "arguments", "wire"), ACCEPTED,
                         ids=[f"{r[0]}-{i}" for i, r in enumerate(ACCEPTED)])
def test_valid_arguments_are_accepted_and_encoded(operation: str, arguments: object, wire: list) -> None:
    assert sent(operation, arguments) == wire


def test_an_unknown_name_is_passed_over_with_the_closest_known_name() -> None:
    request = check_call(SPEC.operations["postMessage"], {**MESSAGE, "to": "+15551230001", "Bodyy": "x", "Zzz": 1},
                         "Twilio.postMessage")
    assert ("to", "+15551230001") not in request.form and ("Bodyy", "x") not in request.form
    assert request.warnings == [
        "Twilio.postMessage: unknown argument 'to' was not sent (did you mean 'To'?)",
        "Twilio.postMessage: unknown argument 'Bodyy' was not sent (did you mean 'Body'?)",
        "Twilio.postMessage: unknown argument 'Zzz' was not sent (known: To, Body, From, MaxPrice, MediaUrl, "
        "SmartEncoded, ApplicationSid, StatusCallback, ValidityPeriod, ProvideFeedback, MessagingServiceSid)",
    ]


def test_case_insensitive_match_wins_over_a_closer_spelling() -> None:
    request = check_call(SPEC.operations["listCall"], {"pagesize": 5}, "Twilio.listCall")
    assert request.warnings == ["Twilio.listCall: unknown argument 'pagesize' was not sent (did you mean 'PageSize'?)"]


def test_a_rejected_call_still_reports_the_unknown_name() -> None:
    with pytest.raises(ArgumentError) as caught:
        check_call(SPEC.operations["postMessage"], {"to": "+15551230000", "From": "+15005550006", "Body": "x"},
                   "Twilio.postMessage")
    assert str(caught.value) == "To: is required"
    assert list(caught.value.warnings) == [
        "Twilio.postMessage: unknown argument 'to' was not sent (did you mean 'To'?)"]


def test_a_rejected_call_sends_nothing_over_http() -> None:
    with recording_server() as server:
        section = {"base_url": server.url, "AccountSid": "AC" + "0" * 32, "AuthToken": "t" * 32}
        service = load_service(SPEC.source, section)
        for operation, arguments, _ in REJECTED + REQUIRED:
            assert service.call(operation, arguments).value["status"] == 400
        assert server.received == []
