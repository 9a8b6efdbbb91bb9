"""serve's cheaper per-request paths answer exactly as the Werkzeug paths they replace (issue 21).

request.uri, route matching and the request log each have a fast path; each is checked here
against the slow path it stands for, on real Werkzeug requests and a real served solution.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import requests
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from murano_sim import Runtime
from murano_sim.solution import SolutionLog, serve_solution
from murano_sim.solution.requesturl import request_url
from murano_sim.solution.routes import MAX_ADAPTERS, RouteMatcher

SECRET = "s3cr3t-token-0123456789abcdef"

# (path, query, Host header, script root): plain ones take the fast path, the others Werkzeug's.
URLS = [
    ("/ks", "", "127.0.0.1:8080", ""),
    ("/ks", "n=3&v=x", "localhost:5000", ""),
    ("/users/7", "sort=asc&tag=a&tag=b", "example.com", ""),
    ("/a/b/", "", "EXAMPLE.com:80", "/mounted/"),
    ("/ks", "", "[::1]:8080", ""),
    ("/ks", "", "localhost:80", ""),  # the default port: Werkzeug drops it
    ("/p;v=1/@a:b/~x!$&'()*+,=", "a=1?b/c", "localhost:8080", ""),
    ("/caf\u00e9", "q=\u00e9t\u00e9", "localhost", ""),  # non-ASCII: Werkzeug's path
    ("/a%20b", "x=%2F&y=%41", "localhost", ""),  # escapes: Werkzeug decodes some
    ("/a b", "q=a b#frag", "localhost", ""),
    ("/ks", "", "xn--caf-dma.example", ""),  # an IDNA host
    ("/ks", "", None, ""),  # no Host header: SERVER_NAME and port
    ("/ks", "a=[1]&b={2}|3", "localhost", ""),
]


def _request(path: str, query: str, host: str | None, root: str = "", method: str = "GET", **kwargs) -> Request:
    environ = EnvironBuilder(method=method, **kwargs).get_environ()
    # as a WSGI server hands them on: the raw bytes as latin-1 text
    for name, value in (("PATH_INFO", path), ("QUERY_STRING", query), ("SCRIPT_NAME", root)):
        environ[name] = value.encode("utf-8").decode("latin-1")
    if host is None:
        environ.pop("HTTP_HOST", None)
        environ["SERVER_NAME"], environ["SERVER_PORT"] = "10.0.0.5", "8081"
    else:
        environ["HTTP_HOST"] = host
    return Request(environ)


@pytest.mark.parametrize(("path", "query", "host", "root"), URLS)
def test_request_uri_is_werkzeugs_url(path, query, host, root):
    fast = request_url(_request(path, query, host, root))
    assert fast == _request(path, query, host, root).url  # a fresh request: nothing cached


def _routes() -> Map:
    return Map([
        Rule("/ks", endpoint=0, methods=["GET"]),
        Rule("/ks", endpoint=1, methods=["POST"]),
        Rule("/users/<id>", endpoint=2, methods=["GET"]),
    ], strict_slashes=False)


def _outcome(call):
    try:
        return call()
    except RequestRedirect as redirect:  # where the redirect points (host, root, path, query)
        return ("redirect", redirect.new_url)
    except Exception as exc:  # NotFound, MethodNotAllowed (with the allowed methods)
        return (type(exc).__name__, sorted(getattr(exc, "valid_methods", None) or []))


@pytest.mark.parametrize(("method", "path", "query"), [
    ("GET", "/ks", ""), ("POST", "/ks", "n=1"), ("GET", "/users/7", "x=1"), ("PUT", "/ks", ""),
    ("GET", "/nope", ""), ("GET", "//users//7", "keep=me"), ("GET", "/ks/", ""),
])
def test_one_bound_map_per_host_matches_as_binding_per_request(method, path, query):
    url_map = _routes()
    matcher = RouteMatcher(url_map)
    # Two hosts and a mounted root in turn: a cached adapter never leaks one request's host or query.
    for host, root in [("a.example:8080", ""), ("b.example", "/app"), ("a.example:8080", ""), ("b.example", "/app")]:
        request = _request(path, query, host, root, method)
        fast = _outcome(lambda r=request: matcher.match(r, False))
        assert fast == _outcome(lambda r=request: url_map.bind_to_environ(r.environ).match())


def test_a_redirect_names_the_requests_own_host_and_query():
    matcher = RouteMatcher(_routes())
    matcher.match(_request("/ks", "", "first.example"), False)
    outcome = _outcome(lambda: matcher.match(_request("//users//7", "keep=me", "second.example"), False))
    assert outcome == ("redirect", "http://second.example/users/7?keep=me")


def test_hosts_beyond_the_cap_are_bound_per_request():
    matcher = RouteMatcher(_routes())
    for i in range(MAX_ADAPTERS + 10):
        assert matcher.match(_request("/users/7", "", f"h{i}.example"), False) == (2, {"id": "7"})
    assert len(matcher._adapters) == MAX_ADAPTERS


def _records() -> list[dict]:
    return [
        {"type": "script", "timestamp": "t", "request_id": "r1", "service": "webservice", "event": "GET /x",
         "file": "x.lua", "parameters": {"token": SECRET, "text": "line\nbreak \u00e9 \"q\"", "n": 1.5e-7},
         "status": 200, "execution_time_ms": 0.25, "script_output": [f"saw {SECRET}"], "error": None},
        {"type": "service_call", "timestamp": "t", "request_id": "r1", "service_alias": "keystore",
         "function_call": "get", "arguments": {"key": b"bytes", 3: {1, 2}}, "status": 200,
         "execution_time_ms": 0.1, "result": [None, True, 10 ** 20]},
    ]


def _old_write(records: list[dict], secrets: list[str]) -> list[dict]:
    """What the log wrote before: each record dumped, redacted, loaded back (the reference)."""
    from murano_sim.config import redact
    from murano_sim.solution.requestlog import _compact
    return [json.loads(redact(_compact(record), secrets)) for record in records]


@pytest.mark.parametrize("json_lines", [True, False])
def test_the_log_writes_and_hands_on_what_it_did_before(json_lines):
    stream = io.StringIO()
    log = SolutionLog(stream, json_lines=json_lines, secrets=[SECRET])
    seen: list[dict] = []
    batches: list[list[dict]] = []
    log.listeners.append(seen.append)
    log.batch_listeners.append(batches.append)
    records = _records()
    log.write(records)
    expected = _old_write(records, [SECRET])
    assert seen == expected and batches == [expected]
    text = stream.getvalue()
    assert SECRET not in text and SECRET not in json.dumps(seen)
    if json_lines:
        lines = text.splitlines()
        assert [json.loads(line) for line in lines] == expected
        from murano_sim.solution.requestlog import _compact
        assert lines == [_compact(record) for record in expected]
    else:
        assert "[REDACTED]" in text and "> call keystore.get -> 200" in text
    seen[0]["parameters"]["text"] = "changed"  # listeners get copies: the caller's records are untouched
    assert records[0]["parameters"]["text"].startswith("line")


def test_a_served_request_sees_its_full_url(tmp_path: Path):
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints" / "api.lua").write_text("--#ENDPOINT GET /where/{id}\nreturn {uri = request.uri}\n")
    with Runtime({}) as runtime:
        server = serve_solution(tmp_path, runtime, log=SolutionLog(io.StringIO()))
        try:
            plain = requests.get(f"{server.url}/where/7?a=1&b=two", timeout=10).json()
            escaped = requests.get(f"{server.url}/where/%C3%A9?q=%C3%A9t%C3%A9", timeout=10).json()
            redirected = requests.get(f"{server.url}//where//8?k=v", timeout=10, allow_redirects=True).json()
        finally:
            server.shutdown()
    assert plain["uri"] == f"{server.url}/where/7?a=1&b=two"
    assert escaped["uri"] == f"{server.url}/where/\u00e9?q=\u00e9t\u00e9"
    assert redirected["uri"] == f"{server.url}/where/8?k=v"


@pytest.mark.parametrize("json_lines", [True, False])
@pytest.mark.parametrize("secret", ['pa"ss\\word-123', "tab\there-456", "clé-secrète-789"])
def test_a_secret_that_json_escapes_is_redacted_too(json_lines, secret):
    # the log redacts its serialised text: a secret JSON writes escaped must be matched as written
    stream = io.StringIO()
    log = SolutionLog(stream, json_lines=json_lines, secrets=[secret])
    seen: list[dict] = []
    log.listeners.append(seen.append)
    log.write([{"type": "script", "timestamp": "t", "request_id": "r1", "service": "webservice",
                "event": "GET /x", "file": "x.lua", "parameters": {"token": secret}, "status": 200,
                "execution_time_ms": 0.25, "script_output": [f"saw {secret}"], "error": None}])
    written = stream.getvalue() + json.dumps(seen) + json.dumps(seen, ensure_ascii=False)
    for form in {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}:
        assert form not in written
    assert "[REDACTED]" in stream.getvalue()
