"""Transport: outcome mapping, retries, Retry-After, deadlines and the never-twice rule for POST.

Every test talks to a real HTTP server on loopback; retry counts are the requests it received.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests
import urllib3.exceptions
from test_service_httpserver import Answer, RecordingServer, recording_server, unused_port

from murano_sim.services.transport import (
    QUERY_ERROR,
    SERVER_ERROR,
    USER_AGENT,
    Transport,
    classify_exception,
    parse_retry_after,
)

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with recording_server() as srv:
        yield srv


class Waits:
    """Records each backoff wait (and really waits, so the server sees real spacing)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        time.sleep(seconds)


def make(url: str, waits: Waits | None = None, **kw) -> Transport:
    # A generous timeout: only the tests about timeouts set a short one (with a server slower still).
    options = {"auth": ("ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", TOKEN), "timeout": 30.0, "retries": 3, "backoff": 0.01}
    options.update(kw)
    return Transport(url, sleep=waits or Waits(), **options)


# --- outcome mapping -------------------------------------------------------------------------

def test_2xx_json_body_becomes_the_value(server: RecordingServer) -> None:
    server.answer(Answer(201, {"sid": "SM1", "nested": {"list": [1, 2]}, "gone": None}))
    reply = make(server.url).send("POST", "/m", form=[("To", "+1")])
    assert reply.ok and reply.status == 201
    assert reply.value == {"sid": "SM1", "nested": {"list": [1, 2]}, "gone": None}


def test_204_gives_no_value(server: RecordingServer) -> None:
    server.answer(Answer(204, b""))
    reply = make(server.url).send("DELETE", "/m")
    assert reply.ok and reply.status == 204 and reply.value is None


def test_4xx_is_a_query_error_carrying_the_body_text(server: RecordingServer) -> None:
    body = {"code": 20404, "message": "not found", "more_info": "https://www.twilio.com/docs/errors/20404",
            "status": 404}
    server.answer(Answer(404, body))
    reply = make(server.url).send("GET", "/m")
    assert (reply.status, reply.error_type) == (404, QUERY_ERROR)
    assert requests.compat.json.loads(reply.error)["code"] == 20404


def test_5xx_is_a_server_error_with_its_status(server: RecordingServer) -> None:
    server.default = Answer(500, "boom")
    reply = make(server.url).send("GET", "/m")
    assert (reply.status, reply.error_type, reply.error) == (500, SERVER_ERROR, "boom")


def test_a_2xx_body_that_is_not_json_is_a_502_server_error(server: RecordingServer) -> None:
    server.answer(Answer(200, "<html>hello</html>"))
    reply = make(server.url).send("GET", "/m")
    assert (reply.status, reply.error_type) == (502, SERVER_ERROR)
    assert "not JSON" in reply.error


def test_a_redirect_is_not_followed_and_is_a_server_error(server: RecordingServer) -> None:
    server.answer(Answer(302, "", headers={"Location": server.url + "/elsewhere"}))
    reply = make(server.url).send("POST", "/m", form=[("a", "1")])
    assert (reply.status, reply.error_type) == (302, SERVER_ERROR)
    assert len(server.received) == 1


def test_request_carries_basic_auth_accept_user_agent_and_repeated_form_keys(server: RecordingServer) -> None:
    make(server.url).send("POST", "/m", query=[("q", "1")], form=[("MediaUrl", "a"), ("MediaUrl", "b")])
    (seen,) = server.received
    assert seen.headers["Authorization"] == requests.auth._basic_auth_str("ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", TOKEN)
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["User-Agent"] == USER_AGENT and USER_AGENT.startswith("murano-sim/")
    assert seen.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert seen.form_dict() == {"MediaUrl": ["a", "b"]} and seen.query_dict() == {"q": ["1"]}


class CountingAdapter(requests.adapters.HTTPAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        self.sent += 1
        return super().send(request, **kwargs)


def test_one_session_carries_every_call(server: RecordingServer) -> None:
    session = requests.Session()
    adapter = CountingAdapter()
    session.mount(server.url, adapter)
    transport = make(server.url, session=session)
    for _ in range(3):
        transport.send("GET", "/m")
    assert transport.session is session and adapter.sent == 3 and len(server.received) == 3


# --- retries for GET and DELETE --------------------------------------------------------------

@pytest.mark.parametrize("status", [429, 502, 503, 504])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_retry_on_retryable_statuses(server: RecordingServer, method: str, status: int) -> None:
    server.default = Answer(status, "busy")
    reply = make(server.url, retries=3).send(method, "/m")
    assert len(server.received) == 4 and reply.attempts == 4
    assert reply.status == status


def test_get_stops_retrying_once_it_succeeds(server: RecordingServer) -> None:
    server.answer(Answer(503, "x"), Answer(503, "x"), Answer(200, {"ok": True}))
    reply = make(server.url).send("GET", "/m")
    assert reply.ok and reply.value == {"ok": True} and len(server.received) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_get_does_not_retry_other_statuses(server: RecordingServer, status: int) -> None:
    server.default = Answer(status, "no")
    make(server.url).send("GET", "/m")
    assert len(server.received) == 1


def test_backoff_doubles_from_the_base_and_is_capped() -> None:
    waits = Waits()
    transport = make(f"http://127.0.0.1:{unused_port()}", waits, retries=5, backoff=0.001)
    transport.send("GET", "/m")
    assert waits.seconds == [0.001, 0.002, 0.004, 0.008, 0.016]
    capped: list[float] = []
    transport = Transport(f"http://127.0.0.1:{unused_port()}", retries=2, backoff=3.0, sleep=capped.append)
    transport.send("GET", "/m")
    assert capped == [2.0, 2.0]


def test_get_retries_after_a_timeout(server: RecordingServer) -> None:
    server.default = Answer(200, {"late": True}, delay=0.5)
    reply = make(server.url, timeout=0.2, retries=1).send("GET", "/m")
    assert (reply.status, reply.error_type) == (504, SERVER_ERROR)
    assert "no response" in reply.error and reply.attempts == 2 and len(server.wait_for_requests(2)) == 2


def test_get_retries_after_a_dropped_connection(server: RecordingServer) -> None:
    server.answer(Answer(drop=True), Answer(200, {"ok": True}))
    reply = make(server.url).send("GET", "/m")
    assert reply.ok and len(server.received) == 2


def test_retry_count_is_configurable_to_zero(server: RecordingServer) -> None:
    server.default = Answer(503, "x")
    make(server.url, retries=0).send("GET", "/m")
    assert len(server.received) == 1


# --- Retry-After -----------------------------------------------------------------------------

def test_retry_after_is_honoured(server: RecordingServer) -> None:
    waits = Waits()
    server.answer(Answer(429, "slow down", headers={"Retry-After": "0.15"}), Answer(200, {"ok": True}))
    reply = make(server.url, waits, backoff=0.001).send("GET", "/m")
    assert reply.ok and waits.seconds == [0.15]


def test_backoff_wins_when_longer_than_retry_after(server: RecordingServer) -> None:
    waits = Waits()
    server.answer(Answer(503, "x", headers={"Retry-After": "0"}), Answer(200, {}))
    make(server.url, waits, backoff=0.05).send("GET", "/m")
    assert waits.seconds == [0.05]


def test_a_retry_after_beyond_the_cap_is_reported_not_waited_for(server: RecordingServer) -> None:
    waits = Waits()
    server.default = Answer(429, "later", headers={"Retry-After": "3600"})
    reply = make(server.url, waits).send("GET", "/m")
    assert reply.status == 429 and waits.seconds == [] and len(server.received) == 1


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:05 GMT", now=now) == 5.0
    assert parse_retry_after((now - timedelta(seconds=9)).strftime("%a, %d %b %Y %H:%M:%S GMT"), now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None and parse_retry_after("nan") is None


# --- deadlines -------------------------------------------------------------------------------

def test_retries_never_run_past_the_deadline(server: RecordingServer) -> None:
    # The first answer comes well inside the deadline, however loaded the machine; the wait it asks for does not.
    server.default = Answer(503, "x", headers={"Retry-After": "10"})
    reply = make(server.url).send("GET", "/m", deadline=time.monotonic() + 5)
    assert reply.status == 503 and len(server.received) == 1


def test_a_spent_deadline_sends_nothing(server: RecordingServer) -> None:
    reply = make(server.url).send("POST", "/m", form=[("a", "1")], deadline=time.monotonic() - 1)
    assert (reply.status, reply.error_type) == (504, SERVER_ERROR) and server.received == []


def test_the_deadline_shortens_the_request_timeout(server: RecordingServer) -> None:
    server.default = Answer(200, {}, delay=0.6)
    reply = make(server.url, timeout=5.0, retries=0).send("GET", "/m", deadline=time.monotonic() + 0.2)
    assert reply.status == 504


# --- POST: never twice ------------------------------------------------------------------------

@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_post_is_not_retried_on_server_errors(server: RecordingServer, status: int) -> None:
    server.default = Answer(status, "x")
    reply = make(server.url).send("POST", "/m", form=[("Body", "hi")])
    assert reply.status == status and len(server.received) == 1


def test_post_is_not_retried_after_a_timeout(server: RecordingServer) -> None:
    server.default = Answer(201, {"sid": "SM1"}, delay=0.5)
    reply = make(server.url, timeout=0.2).send("POST", "/m", form=[("Body", "hi")])
    assert (reply.status, reply.error_type) == (504, SERVER_ERROR)
    assert reply.attempts == 1 and len(server.wait_for_requests(1)) == 1


def test_post_is_not_retried_after_a_dropped_connection(server: RecordingServer) -> None:
    server.default = Answer(drop=True)
    reply = make(server.url).send("POST", "/m", form=[("Body", "hi")])
    assert (reply.status, reply.error_type) == (502, SERVER_ERROR)
    assert "closed before a complete response" in reply.error
    assert len(server.received) == 1


def test_post_is_retried_on_429_and_succeeds(server: RecordingServer) -> None:
    server.answer(Answer(429, {"code": 20429, "status": 429}), Answer(201, {"sid": "SM1"}))
    reply = make(server.url).send("POST", "/m", form=[("Body", "hi")])
    assert reply.ok and reply.value == {"sid": "SM1"} and len(server.received) == 2


def test_post_retries_on_429_are_bounded(server: RecordingServer) -> None:
    server.default = Answer(429, {"code": 20429, "status": 429})
    reply = make(server.url, retries=2).send("POST", "/m", form=[("Body", "hi")])
    assert (reply.status, reply.error_type) == (429, QUERY_ERROR) and len(server.received) == 3


def test_post_is_retried_when_the_connection_is_refused_then_reported() -> None:
    waits = Waits()
    reply = make(f"http://127.0.0.1:{unused_port()}", waits, retries=3).send("POST", "/m", form=[("Body", "hi")])
    assert (reply.status, reply.error_type) == (503, SERVER_ERROR)
    assert "connection refused" in reply.error
    assert reply.attempts == 4 and len(waits.seconds) == 3


def test_post_reaches_a_server_that_starts_listening_during_the_retries() -> None:
    port = unused_port()
    received: list[bytes] = []
    listener = socket.socket()

    def start_listening(seconds: float) -> None:
        # The first backoff wait is when the server comes up: the retry then gets through.
        if listener.fileno() != -1 and not received:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen()
            threading.Thread(target=answer_once, daemon=True).start()
            received.append(b"listening")

    def answer_once() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                         b"Connection: close\r\n\r\n{}")

    try:
        reply = Transport(f"http://127.0.0.1:{port}", retries=2, backoff=0.01, sleep=start_listening).send(
            "POST", "/m", form=[("Body", "hi")])
    finally:
        listener.close()
    assert reply.ok and reply.status == 201 and reply.attempts == 2


# --- exception classification ---------------------------------------------------------------

def test_classify_refused_as_unsent_503() -> None:
    try:
        requests.post(f"http://127.0.0.1:{unused_port()}/", data={"a": 1}, timeout=2)
    except requests.exceptions.RequestException as exc:
        failure = classify_exception(exc, "h", 2)
    assert (failure.status, failure.sent) == (503, False)


def test_classify_connect_timeout_as_unsent_but_read_timeout_as_sent() -> None:
    connect = requests.exceptions.ConnectTimeout(urllib3.exceptions.MaxRetryError(
        None, "/", urllib3.exceptions.ConnectTimeoutError(None, "timed out")))
    read = requests.exceptions.ReadTimeout(urllib3.exceptions.ReadTimeoutError(None, "/", "timed out"))
    assert (classify_exception(connect, "h", 1).status, classify_exception(connect, "h", 1).sent) == (504, False)
    assert (classify_exception(read, "h", 1).status, classify_exception(read, "h", 1).sent) == (504, True)


def test_an_unknown_connection_error_counts_as_sent() -> None:
    # When in doubt the request may have been processed: never retry a POST then.
    failure = classify_exception(requests.exceptions.ConnectionError("weird"), "h", 1)
    assert (failure.status, failure.sent) == (502, True)


def test_repr_never_shows_the_auth_token() -> None:
    transport = make("http://127.0.0.1:1")
    assert TOKEN not in repr(transport) and TOKEN not in str(vars(transport).get("base_url"))
