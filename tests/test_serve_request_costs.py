"""What serve stopped doing per request still holds (issue 21): the secrets redaction asks for follow
every change, and the log store that keeps a write's JSON text reads back what was written.

Real runtimes, real Lua, a real state file; nothing of ours is mocked.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from lua_support import lua_value as lua

from murano_sim import Runtime
from murano_sim.config import redact
from murano_sim.solution import SolutionLog
from murano_sim.solution.logstore import LogFilter, LogStore, annotate, read_state_file
from murano_sim.solution.requestlog import _compact, render_text
from murano_sim.state import State

FIRST, SECOND = "pw-first-0123456789", "pw-second-9876543210"


def _set_password(rt: Runtime, password: str) -> None:
    lua(rt, f'return Config.setParameters{{service = "email", parameters = {{connection_password = "{password}"}}}}')


def test_secrets_follow_set_parameters_both_ways():
    with Runtime({}) as rt:
        services = rt.platform
        before = services.secrets()
        assert FIRST not in before
        _set_password(rt, FIRST)
        assert FIRST in services.secrets()
        _set_password(rt, SECOND)
        now = services.secrets()
        assert SECOND in now and FIRST not in now  # only what a service holds now
        assert now == sorted(now, key=len, reverse=True)
        # a script's output and call records are redacted with the new value at once
        result = rt.run(f'print("{SECOND}"); return Keystore.set{{key = "k", value = "{SECOND}"}}')
        assert result.logs == ["[REDACTED]"]
        assert SECOND not in json.dumps(result.calls)


def test_a_service_added_after_start_is_asked_for_its_secrets():
    class Holder:  # a host service (as a linked product is): any object with an alias and secrets
        alias = "holder"
        global_names = ("Holder",)

        def __init__(self) -> None:
            self.secrets = ["held-secret-value-42"]

    with Runtime({}) as rt:
        assert "held-secret-value-42" not in rt.platform.secrets()
        holder = Holder()
        rt.platform.by_alias["holder"] = holder
        assert "held-secret-value-42" in rt.platform.secrets()
        holder.secrets = []  # its value is read again on every call
        assert "held-secret-value-42" not in rt.platform.secrets()


def _records(secret: str) -> list[dict[str, Any]]:
    return [
        {"type": "script", "timestamp": "t", "request_id": "r1", "service": "webservice", "event": "GET /x",
         "file": "x.lua", "parameters": {"token": secret, "text": 'q"uote \u00e9'}, "status": 500,
         "execution_time_ms": 0.25, "script_output": [f"[warn]\tsaw {secret}"], "error": None},
        {"type": "service_call", "timestamp": "t", "request_id": "r1", "service_alias": "keystore",
         "function_call": "get", "arguments": {"key": secret}, "status": 200, "execution_time_ms": 0.1,
         "result": [1, None]},
    ]


@pytest.mark.parametrize("secret", ["s3cr3t-token-0123456789", 'pa"ss\\word-123', "cl\u00e9-secr\u00e8te-789"])
def test_the_log_store_reads_back_what_the_log_wrote_redacted_and_annotated(secret):
    log = SolutionLog(io.StringIO(), secrets=[secret])
    store = LogStore(State())
    log.text_listeners.append(store.add_json)
    copies: list[list[dict[str, Any]]] = []
    log.batch_listeners.append(copies.append)  # the dicts the log hands on: the reference
    log.write(_records(secret))
    log.write([{"type": "server", "timestamp": "t", "message": f"note {secret}"}])
    got = store.records()
    assert [r["id"] for r in got] == [1, 2, 3]  # nothing lost, ids per record
    assert [{k: v for k, v in r.items() if k != "id"} for r in got] == annotate(copies[0]) + annotate(copies[1])
    assert got[0]["severity"] == "error" and got[1]["event"] == "GET /x"  # annotated as before
    written = json.dumps(got) + json.dumps(got, ensure_ascii=False)
    for form in {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}:
        assert form not in written
    assert [r["id"] for r in store.records(after=2)] == [3]
    assert [r["id"] for r in store.records(where=LogFilter(severity="error"))] == [1]


def test_the_log_store_writes_json_batches_to_its_state_file(tmp_path: Path):
    path = tmp_path / "state.db"
    state = State(path)
    store = LogStore(state)
    log = SolutionLog(io.StringIO(), secrets=["s3cr3t-token-0123456789"])
    log.text_listeners.append(store.add_json)
    log.write(_records("s3cr3t-token-0123456789"))
    store.close()
    state.close()
    kept = read_state_file(path)
    assert [(r["id"], r["type"]) for r in kept] == [(1, "script"), (2, "service_call")]
    assert kept[1]["service"] == "webservice" and "s3cr3t" not in json.dumps(kept)


@pytest.mark.parametrize("secret", ["s3cr3t-token-0123456789", 'pa"ss\\word-123', "tab\there-456", "cl\u00e9-789"])
def test_the_text_log_prints_what_rendering_the_redacted_copies_printed(secret):
    # the text is now rendered from the records as given and redacted as a whole; before, each record
    # was dumped, redacted and loaded back, then rendered (the reference here)
    stream = io.StringIO()
    SolutionLog(stream, secrets=[secret]).write(_records(secret))
    copies = [json.loads(redact(_compact(record), [secret])) for record in _records(secret)]
    assert stream.getvalue() == "\n".join(render_text(record) for record in copies) + "\n"
    assert "[REDACTED]" in stream.getvalue() and "> call keystore.get -> 200" in stream.getvalue()


def _routes_map():
    from werkzeug.routing import Map, Rule
    return Map([Rule("/ks", endpoint=0, methods=["GET"]), Rule("/users/<id>", endpoint=1, methods=["GET"])],
               strict_slashes=False)


def _get(path: str, query: str = "", method: str = "GET"):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request
    return Request(EnvironBuilder(method=method, path=path, query_string=query, base_url="http://a.example").get_environ())


def test_a_kept_match_answers_as_werkzeug_and_hands_out_its_own_parameters():
    from werkzeug.exceptions import MethodNotAllowed

    from murano_sim.solution.routes import RouteMatcher
    url_map = _routes_map()
    matcher = RouteMatcher(url_map)
    first = matcher.match(_get("/users/7", "a=1"), False)
    first[1]["id"] = "changed"  # a caller's copy: the kept match is untouched
    again = matcher.match(_get("/users/7", "b=2"), False)
    assert again == (1, {"id": "7"}) == url_map.bind("a.example").match("/users/7", "GET")
    with pytest.raises(MethodNotAllowed):  # the method is part of what is kept
        matcher.match(_get("/users/7", method="POST"), False)


def test_kept_matches_are_capped_and_beyond_the_cap_still_match():
    from murano_sim.solution.routes import MAX_MATCHES, RouteMatcher
    matcher = RouteMatcher(_routes_map())
    for n in range(MAX_MATCHES + 20):
        assert matcher.match(_get(f"/users/{n}"), False) == (1, {"id": str(n)})
    assert len(matcher._matches) == MAX_MATCHES


def test_ids_are_32_hex_digits_and_unique():
    from murano_sim.state.ids import new_id
    ids = [new_id() for _ in range(1000)]
    assert len(set(ids)) == 1000 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


@pytest.mark.parametrize("method", ["POST", "GET", "HEAD"])
def test_a_device_writes_fixed_204_is_what_werkzeug_sends(method):
    # taken once from Werkzeug's own answer; checked against a fresh one for each method
    from werkzeug.test import EnvironBuilder

    from murano_sim.services.device2.device_api import NO_CONTENT, _text
    environ = EnvironBuilder(method=method).get_environ()
    sent: list[Any] = []
    fresh = list(_text(204)(environ, lambda status, headers, exc_info=None: sent.append((status, headers))))
    fixed = list(NO_CONTENT(environ, lambda status, headers, exc_info=None: sent.append((status, headers))))
    assert sent[0] == sent[1] and sent[0][0] == "204 NO CONTENT" and fixed == fresh == []
    assert sent[1][1] is not NO_CONTENT.headers  # each answer its own header list


def test_a_batch_that_does_not_decode_is_reported_in_place_and_later_ones_still_read():
    store = LogStore(State())
    store.add_json('[{"type": "script", "n": [REDACTED]}, {}]', 2)  # a secret that spanned JSON syntax
    store.add_json('[{"type": "server", "timestamp": "t", "message": "after"}]', 1)
    got = store.records()
    assert [r["id"] for r in got] == [1, 2, 3]
    assert got[0]["message"].startswith("log record lost") and got[0]["severity"] == "error"
    assert got[2]["message"] == "after"
