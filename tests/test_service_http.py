"""Http from Lua: a real loopback server records what arrives; the host rule stops everything else."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_support import QuietHandler
from lua_support import lua_value as call
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from murano_sim import Runtime


class Server:
    """A loopback HTTP server that records each request and answers per path."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()  # /hang waits for it
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=QuietHandler)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append({
            "method": request.method, "path": request.path, "query": request.args.to_dict(flat=False),
            "headers": {k.lower(): v for k, v in request.headers.items()}, "body": request.get_data(as_text=True),
        })
        if request.path == "/redirect":
            response = Response("", status=302, headers={"Location": "http://example.com/elsewhere"})
        elif request.path == "/hang":
            self.release.wait(30)  # hang guard only: the test's recv_timeout answers first
            response = Response("late")
        elif request.path == "/big":
            response = Response("x" * 5000)
        elif request.path == "/secret":
            response = Response(request.headers.get("Authorization", ""), headers={"X-Echo": "yes"})
        else:
            response = Response(json.dumps({"ok": True}), status=201, content_type="application/json",
                                headers={"X-Trace": "abc"})
        return response(environ, start_response)

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def http_runtime(**section: Any) -> Runtime:
    return Runtime({"services": {"http": section}} if section else {})



def test_get_sends_params_as_the_query_and_returns_status_headers_body(server):
    with http_runtime() as runtime:
        res = call(runtime, f"""
            return Http.get{{url = '{server.url}/things', params = {{q = 'a b', n = 3, many = {{'x', 'y'}}}},
                            headers = {{['X-Custom'] = 'v'}}, body = 'ignored for GET'}}""")
    assert res["status_code"] == 201 and json.loads(res["body"]) == {"ok": True}
    assert res["headers"]["x-trace"] == "abc" and res["headers"]["content-type"] == "application/json"
    (seen,) = server.requests
    assert seen["method"] == "GET" and seen["path"] == "/things"
    assert seen["query"] == {"q": ["a b"], "n": ["3"], "many": ["x", "y"]}
    assert seen["headers"]["x-custom"] == "v" and seen["body"] == ""


def test_post_json_sets_application_json_and_params_become_a_form_otherwise(server):
    with http_runtime() as runtime:
        call(runtime, f"return Http.post{{url = '{server.url}/j', json = {{name = 'n', list = {{1, 2}}}}}}")
        call(runtime, f"return Http.put{{url = '{server.url}/f', params = {{a = '1', b = true}}}}")
        call(runtime, f"return Http.patch{{url = '{server.url}/r', body = 'raw text', params = {{p = 'q'}}}}")
    posted, form, raw = server.requests
    assert posted["headers"]["content-type"] == "application/json"
    assert json.loads(posted["body"]) == {"name": "n", "list": [1, 2]}
    assert form["method"] == "PUT" and form["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert form["body"] == "a=1&b=true"
    assert raw["method"] == "PATCH" and raw["body"] == "raw text" and raw["query"] == {"p": ["q"]}


@pytest.mark.parametrize("operation,method", [
    ("delete", "DELETE"), ("head", "HEAD"), ("options", "OPTIONS"),
])
def test_each_verb_operation_sends_its_method(server, operation, method):
    with http_runtime() as runtime:
        res = call(runtime, f"return Http.{operation}{{url = '{server.url}/v'}}")
    assert server.requests[0]["method"] == method and res["status_code"] == 201
    if operation == "head":
        assert res["body"] == ""


def test_request_takes_the_method_default_get_and_refuses_an_unknown_one(server):
    with http_runtime() as runtime:
        call(runtime, f"return Http.request{{url = '{server.url}/a'}}")
        call(runtime, f"return Http.request{{url = '{server.url}/b', method = 'POST', body = 'x'}}")
        bad = call(runtime, f"return Http.request{{url = '{server.url}/c', method = 'brew'}}")
    assert [(r["method"], r["path"]) for r in server.requests] == [("GET", "/a"), ("POST", "/b")]
    assert bad["status"] == 400 and "method: must be one of" in bad["error"]


def test_redirects_are_returned_not_followed(server, outside):
    with http_runtime() as runtime:
        res = call(runtime, f"return Http.get{{url = '{server.url}/redirect'}}")
    assert res["status_code"] == 302 and res["headers"]["location"] == "http://example.com/elsewhere"
    assert [r["path"] for r in server.requests] == ["/redirect"] and outside == []


REFUSED = [
    ("http://example.com/x", 403),
    ("http://10.0.0.1:{port}/x", 403),
    ("http://2130706433:{port}/x", 403),  # decimal 127.0.0.1: not a literal loopback address
    ("http://0x7f.0.0.1:{port}/x", 403),
    ("http://localhost.:{port}/x", 403),
    ("http://user:pw@127.0.0.1:{port}/x", 400),  # userinfo: refused even to loopback
    ("http://evil:1\\@127.0.0.1:{port}/x", 400),
    ("http://127.0.0.1:99999/x", 400),
    ("ftp://127.0.0.1:{port}/x", 400),
    ("not a url", 400),
]


@pytest.mark.parametrize("template,status", REFUSED)
def test_a_host_outside_the_rule_is_refused_before_any_connection(server, outside, template, status):
    url = template.format(port=server.port)
    with http_runtime() as runtime:
        res = call(runtime, f"return Http.get{{url = {url!r}}}")
    assert res["status"] == status and res["type"] == "QueryError", res
    assert server.requests == [] and outside == []


def test_allow_hosts_lets_a_named_host_through_the_rule(server, outside):
    url = f"http://api.weather.test:{server.port}/x"
    with http_runtime() as runtime:
        assert call(runtime, f"return Http.get{{url = {url!r}}}")["status"] == 403
    assert outside == []
    with http_runtime(allow_hosts=["api.weather.test"]) as runtime:
        res = call(runtime, f"return Http.get{{url = {url!r}}}")
    # past the rule: the test's loopback guard refuses the lookup, and that is a network failure
    assert res["status"] == 502 and res["type"] == "ServerError"
    assert outside == ["lookup api.weather.test"]


def test_a_network_failure_is_an_error_table_never_a_raise(server):
    port = server.port
    server.close()  # nothing listens there any more
    with http_runtime() as runtime:
        res = call(runtime, f"return Http.get{{url = 'http://127.0.0.1:{port}/x'}}")
    assert res["status"] == 502 and res["type"] == "ServerError" and "ConnectionError" in res["error"]


def test_a_slow_reply_times_out_with_504(server):
    with http_runtime() as runtime:
        res = call(runtime, f"return Http.get{{url = '{server.url}/hang', recv_timeout = 200}}")
    assert res["status"] == 504 and "timed out" in res["error"]


def test_the_scripts_deadline_bounds_the_call(server):
    # 2 s: room to send the request on a loaded machine; /hang answers only after 30 s.
    with Runtime({"lua": {"timeout_seconds": 2}}) as runtime:
        result = runtime.run(f"local r = Http.get{{url = '{server.url}/hang'}} return r")
    # either the call answered 504 at the deadline, or the script's own limit fired right after it
    assert result.error is not None or result.response.message["status"] == 504
    deadline = time.monotonic() + 60  # the server may read the abandoned request only now
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(server.requests) == 1


def test_timeouts_above_the_documented_maximum_are_refused(server):
    with http_runtime() as runtime:
        conn = call(runtime, f"return Http.get{{url = '{server.url}/', conn_timeout = 10001}}")
        recv = call(runtime, f"return Http.get{{url = '{server.url}/', recv_timeout = 20001}}")
    assert conn["status"] == 400 and "conn_timeout" in conn["error"]
    assert recv["status"] == 400 and "recv_timeout" in recv["error"]
    assert server.requests == []


def test_a_reply_larger_than_the_limit_is_a_502(server):
    with http_runtime(max_response_bytes=1000) as runtime:
        res = call(runtime, f"return Http.get{{url = '{server.url}/big'}}")
    assert res["status"] == 502 and "larger than 1000" in res["error"]


def test_config_credentials_fill_placeholders_and_never_reach_the_script_or_the_log(server):
    secret = "tok-9f8e7d6c5b4a"
    with http_runtime(credentials={"API_TOKEN": secret, "ACCOUNT": "acme"}) as runtime:
        result = runtime.run(f"""
            local r = Http.post{{url = '{server.url}/secret?account={{{{ACCOUNT}}}}',
                                 headers = {{Authorization = 'Bearer {{{{API_TOKEN}}}}'}},
                                 json = {{note = 'for {{{{ACCOUNT}}}}', unknown = '{{{{NOPE}}}}'}}}}
            print(r.body)
            return r""")
    assert result.error is None, result.error
    (seen,) = server.requests
    assert seen["headers"]["authorization"] == f"Bearer {secret}" and seen["query"] == {"account": ["acme"]}
    assert json.loads(seen["body"]) == {"note": "for acme", "unknown": "{{NOPE}}"}
    # the server echoed the token back: the script and the call log see it redacted
    assert result.response.message["body"] == "Bearer [REDACTED]"
    assert secret not in repr(result.calls) and secret not in repr(result.logs)


def test_credentials_as_murano_json_string_and_per_call_override(server):
    with http_runtime(credentials='{"K": "from-config", "L": "kept"}') as runtime:
        call(runtime, f"return Http.get{{url = '{server.url}/x', headers = {{a = '{{{{K}}}}', b = '{{{{L}}}}'}},"
                      " credentials = '{\"K\": \"from-call\"}'}")
        logged = runtime.run(f"return Http.get{{url = '{server.url}/x', credentials = {{K = 'call-only-token'}}}}")
        bad = call(runtime, f"return Http.get{{url = '{server.url}/x', credentials = 'not json'}}")
    assert server.requests[0]["headers"]["a"] == "from-call" and server.requests[0]["headers"]["b"] == "kept"
    assert "call-only-token" not in repr(logged.calls)
    assert bad["status"] == 400 and "credentials" in bad["error"]


def test_a_placeholder_cannot_smuggle_a_host_past_the_rule(server, outside):
    with http_runtime(credentials={"HOST": "example.com"}) as runtime:
        res = call(runtime, "return Http.get{url = 'http://{{HOST}}/x'}")
    assert res["status"] == 403 and outside == [] and server.requests == []


def test_bad_arguments_are_one_clear_line(server):
    with http_runtime() as runtime:
        missing = call(runtime, "return Http.get{}")
        header = call(runtime, f"return Http.get{{url = '{server.url}/', headers = {{a = {{1}}}}}}")
        crlf = call(runtime, f"return Http.get{{url = '{server.url}/', headers = {{a = 'x\\r\\nInjected: y'}}}}")
    assert missing == {"error": "Http.get: url: is required", "status": 400, "type": "QueryError", "status_code": 400}
    assert header["status"] == 400 and "headers.a" in header["error"]
    assert crlf["status"] == 400 and "line break" in crlf["error"]
    assert server.requests == []


def test_an_unknown_allow_hosts_value_is_a_config_error():
    from murano_sim import ConfigError

    with pytest.raises(ConfigError, match=r"services\.http\.allow_hosts"):
        http_runtime(allow_hosts="example.com")
