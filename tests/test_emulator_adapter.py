"""WSGIAdapter: requests through a mounted adapter behave as they do over a real socket."""

from __future__ import annotations

import io

import pytest
import requests

from murano_sim.services.twilio import Emulator, ManualClock, WSGIAdapter, serve

BASE = "http://twilio-emulator.invalid"
FROM, TO = "+15005550006", "+15551230000"


@pytest.fixture
def emulator():
    e = Emulator({}, clock=ManualClock())
    yield e
    e.close()


def session_for(emulator: Emulator) -> requests.Session:
    s = requests.Session()
    s.mount(BASE, WSGIAdapter(emulator.wsgi_app))
    s.auth = (emulator.primary_account_sid, emulator.config.services["twilio"]["AuthToken"])
    return s


def root(emulator: Emulator, base: str = BASE) -> str:
    return f"{base}/2010-04-01/Accounts/{emulator.primary_account_sid}"


def test_response_carries_status_reason_headers_url_and_request(emulator):
    s = session_for(emulator)
    r = s.post(f"{root(emulator)}/Messages.json", data={"To": TO, "From": FROM, "Body": "x"})
    assert (r.status_code, r.reason, r.ok) == (201, "CREATED", True)
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert int(r.headers["Content-Length"]) == len(r.content)
    assert r.url == f"{root(emulator)}/Messages.json" and r.request.method == "POST"
    assert r.encoding == "utf-8" and r.json()["body"] == "x"
    assert r.elapsed is not None and r.history == []


def test_form_body_with_repeated_keys_and_unicode_reaches_the_app(emulator):
    s = session_for(emulator)
    data = [("To", TO), ("From", FROM), ("Body", "héllo 😀 & = +"),
            ("MediaUrl", "http://127.0.0.1/a.png"), ("MediaUrl", "http://127.0.0.1/b.png")]
    m = s.post(f"{root(emulator)}/Messages.json", data=data).json()
    assert m["body"] == "héllo 😀 & = +" and m["num_media"] == "2" and m["num_segments"] == "1"


@pytest.mark.parametrize("body", [
    lambda: "To=%2B15551230000&From=%2B15005550006&Body=str+body",
    lambda: b"To=%2B15551230000&From=%2B15005550006&Body=str+body",
    lambda: io.BytesIO(b"To=%2B15551230000&From=%2B15005550006&Body=str+body"),
    lambda: iter([b"To=%2B15551230000&From=%2B15005550006", b"&Body=str+body"]),
])
def test_prebuilt_bodies_of_every_kind_are_sent(emulator, body):
    s = session_for(emulator)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    r = s.post(f"{root(emulator)}/Messages.json", data=body(), headers=headers)
    assert r.status_code == 201 and r.json()["body"] == "str body" and r.json()["to"] == TO


def test_query_string_is_decoded_as_a_server_would(emulator):
    s = session_for(emulator)
    s.post(f"{root(emulator)}/Messages.json", data={"To": TO, "From": FROM, "Body": "x"})
    r = s.get(f"{root(emulator)}/Messages.json", params={"To": TO, "PageSize": 5})
    assert len(r.json()["messages"]) == 1 and "To=%2B15551230000" in r.json()["uri"]


def test_delete_is_204_with_an_empty_body_and_head_has_no_body(emulator):
    s = session_for(emulator)
    sid = s.post(f"{root(emulator)}/Messages.json", data={"To": TO, "From": FROM, "Body": "x"}).json()["sid"]
    emulator.advance(3)
    head = s.head(f"{root(emulator)}/Messages/{sid}.json")
    assert head.status_code == 200 and head.content == b""
    r = s.delete(f"{root(emulator)}/Messages/{sid}.json")
    assert (r.status_code, r.content) == (204, b"")


def test_streamed_responses_can_be_iterated(emulator):
    s = session_for(emulator)
    r = s.get(f"{root(emulator)}/Messages.json", stream=True)
    assert b"".join(r.iter_content(7)).startswith(b"{")


def test_errors_come_back_as_responses_not_exceptions(emulator):
    r = requests.Session()
    r.mount(BASE, WSGIAdapter(emulator.wsgi_app))
    resp = r.get(f"{root(emulator)}/Messages.json")
    assert resp.status_code == 401 and resp.json()["code"] == 20003
    with pytest.raises(requests.HTTPError):
        resp.raise_for_status()


def test_in_process_and_loopback_answers_are_the_same(emulator):
    with serve(emulator) as server:
        over_http = requests.Session()
        over_http.auth = session_for(emulator).auth
        in_process = session_for(emulator)
        for s, base in ((in_process, BASE), (over_http, server.url)):
            s.post(f"{root(emulator, base)}/Messages.json", data={"To": TO, "From": FROM, "Body": "same"})
        a = in_process.get(f"{root(emulator)}/Messages.json", params={"PageSize": 1})
        b = over_http.get(f"{root(emulator, server.url)}/Messages.json", params={"PageSize": 1})
        assert (a.status_code, a.reason, a.json()) == (b.status_code, b.reason, b.json())
        assert a.headers["Content-Type"] == b.headers["Content-Type"]
