"""Hostile requests and hostile responses against `serve`: real solutions on loopback, a real client.

Each case asserts that the right status (and reason) comes back, and that the server still
answers the next request.
"""

from __future__ import annotations

import io
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from murano_sim import Runtime
from murano_sim.solution import SolutionLog, serve_solution

API = r"""
--#ENDPOINT GET /ping
return "pong"

--#ENDPOINT GET /header
response.headers[request.parameters.name] = request.parameters.value
return "set"

--#ENDPOINT GET /code
response.code = tonumber(request.parameters.code) or request.parameters.code
return "coded"

--#ENDPOINT POST /echo
local body = request.body
local size = 0
if type(body) == "table" then for _ in pairs(body) do size = size + 1 end end
return { kind = type(body), size = size, name = type(body) == "table" and body.name or nil }

--#ENDPOINT GET /query
local n = 0
for _ in pairs(request.parameters) do n = n + 1 end
return { parameters = n }
"""

SMALL_LIMIT = 4096


def make_solution(root: Path) -> Path:
    (root / "endpoints").mkdir(parents=True)
    (root / "endpoints" / "api.lua").write_text(API)
    files = root / "files"
    (files / "sub").mkdir(parents=True)
    (files / "hello.txt").write_text("hello")
    (files / "sub" / "inner.txt").write_text("inner")
    (files / ".secret").write_text("dot")
    (root / "outside.txt").write_text("outside the assets folder")
    os.symlink("/etc/passwd", files / "passwd")
    os.symlink("..", files / "up")
    os.symlink(root / "outside.txt", files / "outside")
    os.symlink("hello.txt", files / "alias.txt")  # inside: still served
    os.symlink("sub", files / "subdir")  # inside: still served
    os.symlink(".secret", files / "visible")  # a dot-file under another name: still refused
    return root


class Served:
    def __init__(self, root: Path, runtime: Runtime) -> None:
        self.stream = io.StringIO()
        self.records: list[dict] = []
        log = SolutionLog(self.stream, secrets=runtime.config.secrets())
        log.listeners.append(self.records.append)
        self.server = serve_solution(root, runtime, log=log)
        self.url = self.server.url
        host, port = self.url.removeprefix("http://").split(":")
        self.address = (host, int(port))

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, timeout=30, **kwargs)

    def alive(self) -> None:
        """The next request is answered."""
        response = self.get("/ping")
        assert response.status_code == 200 and response.text == "pong"

    def messages(self) -> list[str]:
        return [r["message"] for r in self.records if r["type"] == "server"]

    def raw(self, data: bytes) -> bytes:
        """Send raw bytes on one connection; everything the server answers before closing."""
        chunks = []
        with socket.create_connection(self.address, timeout=30) as sock:
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
            except OSError:  # the server may answer and close before reading everything we send
                pass
            try:
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
            except ConnectionResetError:
                pass
        return b"".join(chunks)


@pytest.fixture(scope="module")
def solution(tmp_path_factory) -> Path:
    return make_solution(tmp_path_factory.mktemp("hostile") / "solution")


@pytest.fixture(scope="module")
def served(solution) -> Iterator[Served]:
    with Runtime({}) as runtime:
        s = Served(solution, runtime)
        yield s
        s.server.shutdown()


@pytest.fixture(scope="module")
def small(solution) -> Iterator[Served]:
    """The same solution with serve.max_body_bytes set low."""
    with Runtime({"serve": {"max_body_bytes": SMALL_LIMIT}}) as runtime:
        s = Served(solution, runtime)
        yield s
        s.server.shutdown()


# --- what serve sends ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "x-evil\r\nSet-Cookie: session=stolen",  # reproducer 6
    "x-evil\nSet-Cookie: session=stolen",
    "x-evil\r\n\r\n<script>injected body</script>",
    "bad name",
    "bad:name",
    "",
    "x-nul\x00",
    "ünïcode",
])
def test_a_header_name_that_is_not_a_token_is_a_500_naming_the_script(served, name):
    response = served.get("/header", params={"name": name, "value": "v"})
    assert response.status_code == 500
    assert "set-cookie" not in response.headers and "injected" not in response.text
    assert any("endpoints/api.lua" in m and "not a valid HTTP token" in m for m in served.messages())
    served.alive()


@pytest.mark.parametrize("value", ["a\r\nSet-Cookie: session=stolen", "a\nb", "a\rb", "a\x00b", "a\x7fb", "\U0001f600"])
def test_a_header_value_with_cr_lf_or_controls_is_a_500(served, value):
    response = served.get("/header", params={"name": "x-ok", "value": value})
    assert response.status_code == 500
    assert "set-cookie" not in response.headers and "x-ok" not in response.headers
    assert any("endpoints/api.lua" in m and "header x-ok" in m for m in served.messages())
    served.alive()


def test_a_valid_header_is_sent(served):
    response = served.get("/header", params={"name": "x-fine", "value": "a value\twith tab, é"})
    assert response.status_code == 200 and response.headers["x-fine"] == "a value\twith tab, é"


@pytest.mark.parametrize("code", ["100", "101", "199", "999", "600", "0", "-1", "200.5", "teapot"])
def test_a_code_outside_200_599_is_a_500_naming_the_script(served, code):
    # reproducer 8: 100 used to be sent as is and close the connection
    response = served.get("/code", params={"code": code})
    assert response.status_code == 500
    assert any("endpoints/api.lua" in m and "response.code" in m for m in served.messages() + [
        str(r.get("error")) for r in served.records if r["type"] == "script"])
    served.alive()


@pytest.mark.parametrize("code", [200, 204, 301, 418, 599])
def test_codes_from_200_to_599_are_sent(served, code):
    assert served.get("/code", params={"code": str(code)}, allow_redirects=False).status_code == code


# --- what serve accepts -------------------------------------------------------------------------


def test_a_16_mb_json_body_is_413_before_it_reaches_lua(served):
    # reproducer 7, with the default limit (10 MiB)
    body = json.dumps(["x" * 1000] * 16_000).encode()
    assert len(body) > 16_000_000
    response = served.post("/echo", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "serve.max_body_bytes" in response.text and "\n" not in response.text.strip()
    served.alive()


def test_a_body_at_the_limit_is_accepted_and_one_byte_more_is_413(small):
    filler = "x" * (SMALL_LIMIT - len('{"name":""}'))
    exact = json.dumps({"name": filler}, separators=(",", ":")).encode()
    assert len(exact) == SMALL_LIMIT
    assert small.post("/echo", data=exact, headers={"Content-Type": "application/json"}).json()["kind"] == "table"
    over = small.post("/echo", data=exact + b" ", headers={"Content-Type": "application/json"})
    assert over.status_code == 413
    small.alive()


def test_a_chunked_body_without_a_length_is_cut_off_at_the_limit(small):
    def chunks():
        yield b'{"name": "'
        for _ in range(SMALL_LIMIT // 100 + 10):
            yield b"y" * 100
        yield b'"}'

    response = small.post("/echo", data=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    small.alive()


def test_a_chunked_body_under_the_limit_is_read(small):
    def chunks():
        yield b'{"name": '
        yield b'"streamed"}'

    response = small.post("/echo", data=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json()["name"] == "streamed"


@pytest.mark.parametrize("length", ["99999999999999999999", "18446744073709551616"])
def test_an_absurd_content_length_is_413_without_reading(served, length):
    answer = served.raw(f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\nabc".encode())
    assert answer.startswith(b"HTTP/1.1 413")
    served.alive()


def test_a_body_shorter_than_its_content_length_is_a_400(served):
    answer = served.raw(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 100\r\n\r\n{\"a\":")
    assert answer.startswith(b"HTTP/1.1 400")
    served.alive()


@pytest.mark.parametrize("body, reason", [
    ("123456789012345678901234567890", "out of range"),  # reproducer 10
    ('{"n": 123456789012345678901234567890}', "out of range"),
    ('{"n": -9223372036854775809}', "out of range"),
    ('{"n": 1e999}', "out of range"),
    ('{"n": NaN}', "NaN"),
    ('[Infinity]', "Infinity"),
    ("[" * 5000 + "]" * 5000, "nested deeper"),  # reproducer 10
    ('{"a":' * 200 + "1" + "}" * 200, "nested deeper"),
    ("[" * 100_000, "nested deeper"),
])
def test_json_out_of_range_or_too_deep_is_400_with_one_line(served, body, reason):
    response = served.post("/echo", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert reason in response.text and len(response.text.strip().splitlines()) == 1
    assert "Traceback" not in served.stream.getvalue()
    served.alive()


def test_64_bit_integers_and_moderate_nesting_are_accepted(served):
    for body in ('{"n": 9223372036854775807}', '{"n": -9223372036854775808}', "[" * 50 + "]" * 50):
        response = served.post("/echo", data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 200 and response.json()["kind"] == "table", body


def test_json_with_bad_utf8_is_400(served):
    response = served.post("/echo", data=b'{"name": "\xff\xfe"}', headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "UTF-8" in response.text
    served.alive()


def test_duplicate_json_keys_keep_the_last(served):
    response = served.post("/echo", data='{"name": "first", "name": "last"}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json() == {"kind": "table", "size": 1, "name": "last"}


def test_an_invalid_json_body_reaches_the_script_as_text(served):
    response = served.post("/echo", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json()["kind"] == "string"


def test_the_event_route_applies_the_same_json_checks(served):
    # nested and valid: refused for its depth on every Python (3.13's decoder no longer recurses out first)
    response = served.post("/_murano-sim/events/timer/timer", data="[" * 5000 + "]" * 5000)
    assert response.status_code == 400 and "nested deeper" in response.text
    served.alive()


@pytest.mark.parametrize("request_line", [
    b"FOO /ping HTTP/1.1",
    b"G\x00T /ping HTTP/1.1",
    b"GET /ping HTTP/9.9",
    b"GET " + b"/a" * 40000 + b" HTTP/1.1",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello on the plain port
])
def test_bad_request_lines_are_refused_and_the_server_survives(served, request_line):
    answer = served.raw(request_line + b"\r\nHost: x\r\n\r\n")
    assert answer == b"" or answer.split(b" ")[1][:1] == b"4" or answer.startswith(b"<"), answer[:100]
    served.alive()


def test_huge_and_many_headers_are_refused(served):
    assert served.raw(b"GET /ping HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n").split(b" ")[1] == b"431"
    many = b"".join(b"X-%d: v\r\n" % i for i in range(200))
    assert served.raw(b"GET /ping HTTP/1.1\r\n" + many + b"\r\n").split(b" ")[1] == b"431"
    served.alive()


# --- static files -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/passwd",  # reproducer 9: files/passwd -> /etc/passwd
    "/up/outside.txt",  # files/up -> ..
    "/up/endpoints/api.lua",
    "/outside",
    "/visible",  # a symlink to a dot-file
    "/.secret",
    "/%2e%2e/outside.txt",
    "/%2e%2e%2foutside.txt",
    "/sub/%2e%2e/%2e%2e/outside.txt",
    "/..%5coutside.txt",
    "/hello.txt%00.png",
])
def test_nothing_outside_files_and_no_dot_file_is_served(served, path):
    answer = served.raw(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 404"), answer[:200]
    assert b"root:" not in answer and b"outside the assets" not in answer and b"ENDPOINT" not in answer
    served.alive()


def test_symlinks_inside_files_still_work(served):
    assert served.get("/alias.txt").text == "hello"
    assert served.get("/subdir/inner.txt").text == "inner"
    assert served.get("/hello.txt").text == "hello"


# --- property tests -----------------------------------------------------------------------------

_TOKEN_CHARS = st.sampled_from("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(str.strip)
_BODY = st.one_of(
    st.binary(max_size=300),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode()),
)
_CONTENT_TYPE = st.sampled_from([None, "application/json", "text/plain", "application/x-www-form-urlencoded",
                                 "application/vnd.api+json", "multipart/form-data", "application/octet-stream"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=_BODY,
    content_type=_CONTENT_TYPE,
    headers=st.dictionaries(st.text(_TOKEN_CHARS, min_size=1, max_size=12), _HEADER_VALUE, max_size=5),
    query=st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=5),
)
def test_any_request_gets_a_2xx_or_4xx_never_a_500(small, body, content_type, headers, query):
    headers = {k: v for k, v in headers.items() if k.lower() not in {"content-length", "transfer-encoding", "host",
                                                                         "content-type", "expect", "connection"}}
    if content_type:
        headers["Content-Type"] = content_type
    response = requests.post(small.url + "/echo", data=body, headers=headers, params=query, timeout=30)
    assert response.status_code < 500, response.text
    assert requests.get(small.url + "/query", params=query, timeout=30).status_code == 200
