"""Hostile input against the Twilio emulator: ambiguous webhook URLs (SSRF), calendar edges,
foreign page tokens, concurrency, the store's bound, and defects in its threads.

No traffic ever leaves loopback: a socket-level guard refuses (and records) any DNS lookup or
connection to anything else, so a refused host is proved refused before any connection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
import requests
from emulator_support import WebhookReceiver
from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture

from murano_sim import Runtime
from murano_sim.net.hosts import is_allowed_host
from murano_sim.services.twilio import Emulator, ManualClock, WSGIAdapter, serve
from murano_sim.services.twilio.webhooks import attempt
from murano_sim.state.ticker import Ticker

pytest_plugins = ["pytester"]

BASE = "http://twilio-emulator.invalid"
FROM, TO = "+15005550006", "+15551230000"
OTHER_SID, OTHER_TOKEN = "AC" + "1" * 32, "other-token"
EVIL = "http://evil:9999\\@127.0.0.1/cb"  # reproducer 11


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.close()


def _config(**emulator):
    return {"emulator": {"accounts": [{"AccountSid": OTHER_SID, "AuthToken": OTHER_TOKEN}], **emulator}}


@pytest.fixture
def env():
    emulator = Emulator(_config(), clock=ManualClock())
    session = requests.Session()
    session.mount(BASE, WSGIAdapter(emulator.wsgi_app))
    session.auth = (emulator.primary_account_sid, emulator.config.services["twilio"]["AuthToken"])
    root = f"{BASE}/2010-04-01/Accounts/{emulator.primary_account_sid}"
    yield emulator, session, root
    emulator.close()


# --- the host rule (SSRF) -----------------------------------------------------------------------


AMBIGUOUS = [
    EVIL,
    "http://evil:9999\\@127.0.0.1:{port}/cb",
    "http://127.0.0.1:{port}@evil/cb",  # userinfo: the real host is evil
    "http://user:pw@127.0.0.1:{port}/cb",  # userinfo refused even to loopback
    "http://evil#@127.0.0.1:{port}/cb",
    "http://evil?@127.0.0.1:{port}/cb",
    "http://127.0.0.1:{port} @evil/cb",
    "http://127.0.0.1:{port}\t/cb",
    "http://127.0.0.1:{port}\r\nX: y/cb",
    "http://127.0.0.1:99999/cb",  # bad port
    "http://127.0.0.1:+{port}/cb",
    "http://2130706433:{port}/cb",  # decimal form of 127.0.0.1: not a literal loopback address
    "http://0177.0.0.1:{port}/cb",  # octal
    "http://0x7f.0.0.1:{port}/cb",  # hex
    "http://127.1:{port}/cb",
    "http://0.0.0.0:{port}/cb",
    "http://[::ffff:7f00:1]:{port}/cb",
    "http://[::1%25lo]:{port}/cb",
    "http://localhost.:{port}/cb",
    "http://x.localhost:{port}/cb",
    "http://127.0.0.1.nip.io:{port}/cb",
    "ftp://127.0.0.1:{port}/cb",
    "http:///cb",
]


@pytest.mark.parametrize("template", AMBIGUOUS)
def test_an_ambiguous_or_outside_url_is_refused_before_any_connection(outside, receiver, template):
    url = template.format(port=receiver.url.rsplit(":", 1)[1])
    assert not is_allowed_host(url)
    delivery = attempt(url, {"a": "b"}, "token")
    assert not delivery.ok and delivery.error.startswith("refused")
    assert outside == [] and receiver.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_loopback_urls_still_reach_the_receiver(outside, receiver, host):
    url = receiver.url.replace("127.0.0.1", host) + "/cb?x=1"
    assert attempt(url, {"a": "b"}, "token").ok
    assert receiver.paths() == ["/cb"] and outside == []


def test_status_callback_from_the_http_api_cannot_reach_another_host(outside, receiver):
    emulator = Emulator({}, clock=ManualClock())
    with serve(emulator) as server:
        auth = (emulator.primary_account_sid, emulator.config.services["twilio"]["AuthToken"])
        root = f"{server.url}/2010-04-01/Accounts/{emulator.primary_account_sid}"
        port = receiver.url.rsplit(":", 1)[1]
        refused = requests.post(f"{root}/Messages.json", auth=auth, timeout=30,  # reproducer 11
                                data={"To": TO, "From": FROM, "Body": "hi",
                                      "StatusCallback": f"http://evil:9999\\@127.0.0.1:{port}/cb"})
        assert refused.status_code == 400 and refused.json()["code"] == 21609
        # Accepted when created (Twilio takes userinfo in callback URLs), refused when delivered.
        evil = f"http://127.0.0.1:{port}@evil/cb"
        created = requests.post(f"{root}/Messages.json", auth=auth, timeout=30,
                                data={"To": TO, "From": FROM, "Body": "hi", "StatusCallback": evil})
        assert created.status_code == 201
        call = requests.post(f"{root}/Calls.json", auth=auth, timeout=30,
                             data={"To": TO, "From": FROM, "Url": evil, "StatusCallback": evil})
        assert call.status_code == 201
        emulator.advance(10)
        fetched = requests.get(f"{root}/Calls/{call.json()['sid']}.json", auth=auth, timeout=30).json()
    emulator.close()
    assert fetched["status"] == "failed"  # the TwiML fetch was refused
    assert emulator.deliveries and all(d.error.startswith("refused") for d in emulator.deliveries)
    assert {d.kind for d in emulator.deliveries} >= {"message-status", "twiml"}
    assert outside == [] and receiver.requests == []


def test_status_callback_from_a_script_cannot_reach_another_host(outside, receiver):
    emulator = Emulator({}, clock=ManualClock())
    send = ('return Twilio.postMessage({To = "+15551230000", From = "+15005550006", '
            'Body = "hi", StatusCallback = %s})')
    with Runtime({}, emulator=emulator) as runtime:
        refused = runtime.run(send % '"http://evil:9999\\\\@127.0.0.1/cb"')  # reproducer 11
        assert refused.error is None and refused.response.message["status"] == 400, refused
        assert "21609" in refused.response.message["error"]
        result = runtime.run(send % '"http://127.0.0.1:80@evil/cb"')
        assert result.error is None and result.response.message["status"] == "queued", result
        emulator.advance(10)
        assert runtime.run("return 1").error is None  # the next run is clean
    assert emulator.deliveries and all(d.error.startswith("refused") for d in emulator.deliveries)
    assert outside == [] and receiver.requests == []


# --- calendar edges and page tokens -------------------------------------------------------------


@pytest.mark.parametrize("name, value", [
    ("DateSent>", "9999-12-31T23:59:59-01:00"),  # reproducer 12
    ("DateSent<", "0001-01-01T00:00:00+01:00"),
    ("DateSent", "0000-01-01"),
    ("DateSent", "10000-01-01"),
    ("DateSent>", "9999-12-31T23:59:59-23:59"),
    ("DateSent", "2024-02-30"),
    ("DateSent", "\x00"),
    ("Page", "9" * 5000),
    ("PageSize", "1" * 30),
])
def test_filters_at_calendar_edges_are_400_in_twilios_shape(env, name, value):
    _, session, root = env
    response = session.get(f"{root}/Messages.json", params={name: value})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"} and body["status"] == 400
    assert session.get(f"{root}/Messages.json").status_code == 200


def test_another_accounts_page_token_is_as_unknown_as_a_made_up_one(env):
    emulator, session, root = env
    other = requests.Session()
    other.mount(BASE, WSGIAdapter(emulator.wsgi_app))
    other.auth = (OTHER_SID, OTHER_TOKEN)
    theirs = other.post(f"{BASE}/2010-04-01/Accounts/{OTHER_SID}/Messages.json",
                        data={"To": TO, "From": FROM, "Body": "secret"}).json()["sid"]
    mine = session.post(f"{root}/Messages.json", data={"To": TO, "From": FROM, "Body": "mine"}).json()["sid"]
    foreign = session.get(f"{root}/Messages.json", params={"PageToken": "PA" + theirs})  # reproducer 13
    unknown = session.get(f"{root}/Messages.json", params={"PageToken": "PA" + "SM" + "0" * 32})
    assert foreign.status_code == unknown.status_code == 400
    assert foreign.json() == unknown.json()
    # a message SID is no cursor for the calls list either; one's own still works
    assert session.get(f"{root}/Calls.json", params={"PageToken": "PA" + mine}).status_code == 400
    assert session.get(f"{root}/Messages.json", params={"PageToken": "PB" + mine}).status_code == 200


# --- concurrency ----------------------------------------------------------------------------


def test_a_rendered_message_is_never_half_way_through_a_step(env):
    emulator, session, root = env
    sids = [session.post(f"{root}/Messages.json", data={"To": TO, "From": FROM, "Body": str(i)}).json()["sid"]
            for i in range(20)]
    done = threading.Event()

    def tick() -> None:
        for _ in range(40):
            emulator.advance(0.1)
        done.set()

    ticker = threading.Thread(target=tick)
    ticker.start()
    seen = []
    while not done.is_set() or not seen:
        for sid in sids[:5]:
            message = session.get(f"{root}/Messages/{sid}.json").json()
            seen.append(message)
            if message["status"] in ("sent", "delivered"):
                assert message["date_sent"] is not None and message["price"] is not None, message
    ticker.join()
    assert all(m["status"] == "delivered" for m in emulator.messages())


def test_reset_waits_for_a_lifecycle_step_in_flight(receiver):
    emulator = Emulator({}, clock=ManualClock())
    arrived, release = threading.Event(), threading.Event()
    app = receiver._app

    def blocking(environ, start_response):  # the webhook receiver holds the step in flight
        arrived.set()
        release.wait(30)
        return app(environ, start_response)

    receiver._server.app = blocking
    seeded = emulator.messages()
    emulator._backend.create_message(emulator.primary_account_sid, _request(receiver.url + "/cb"))
    stepping = threading.Thread(target=emulator.advance, args=(1,))
    stepping.start()
    assert arrived.wait(30)
    resetting = threading.Thread(target=emulator.reset)
    resetting.start()
    resetting.join(0.5)
    still_waiting = resetting.is_alive()
    release.set()
    stepping.join(30)
    resetting.join(30)
    assert still_waiting, "reset() ran while a lifecycle step was delivering its webhook"
    assert emulator.messages() == seeded and list(emulator.deliveries) == []
    emulator.close()


def _request(callback: str):
    from murano_sim.services.twilio.models import MessageRequest
    return MessageRequest(to=TO, from_=FROM, body="x", status_callback=callback)


def test_the_sqlite_restore_is_one_transaction(tmp_path):
    emulator = Emulator({}, clock=ManualClock(), state_path=tmp_path / "state.db")
    for _ in range(3):
        emulator._backend.create_message(emulator.primary_account_sid, _request("http://127.0.0.1:1/x"))
    statements: list[str] = []
    emulator.state.db.raw.set_trace_callback(statements.append)
    emulator.reset()
    writes = [i for i, s in enumerate(statements) if s.startswith(("DELETE", "INSERT"))]
    assert writes and statements[0].startswith("BEGIN") and statements[-1] == "COMMIT"
    assert not any(s in ("COMMIT", "ROLLBACK") for s in statements[:writes[-1]])
    emulator.close()
    reopened = Emulator({}, clock=ManualClock(), state_path=tmp_path / "state.db")
    assert reopened.messages() == []
    reopened.close()


def test_the_store_is_bounded_and_evicts_final_records_oldest_first():
    emulator = Emulator({"emulator": {"max_records": 5}}, clock=ManualClock())
    session = requests.Session()
    session.mount(BASE, WSGIAdapter(emulator.wsgi_app))
    session.auth = (emulator.primary_account_sid, emulator.config.services["twilio"]["AuthToken"])
    root = f"{BASE}/2010-04-01/Accounts/{emulator.primary_account_sid}"

    def send(body: str) -> requests.Response:
        return session.post(f"{root}/Messages.json", data={"To": TO, "From": FROM, "Body": body})

    first = [send(str(i)).json()["sid"] for i in range(5)]
    full = send("no room")  # all five are still on their way: nothing may be evicted
    assert full.status_code == 429 and full.json()["code"] == 20429
    emulator.advance(10)  # all delivered: final
    later = [send(f"later {i}").json()["sid"] for i in range(3)]
    sids = [m["sid"] for m in emulator.messages()]
    assert sids == first[3:] + later
    assert session.get(f"{root}/Messages/{first[0]}.json").status_code == 404
    assert session.get(f"{root}/Messages.json", params={"PageToken": "PA" + first[0]}).status_code == 400
    emulator.close()


# --- defects surface ----------------------------------------------------------------------------


class _BrokenClock(ManualClock):
    """A clock that fails once when armed, as a defect in a lifecycle step would."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.failed = threading.Event()

    def now(self):
        if self.armed and not self.failed.is_set():
            self.failed.set()
            raise RuntimeError("clock exploded")
        return super().now()


def test_a_defect_in_the_ticker_is_logged_with_its_traceback_and_kept(caplog):
    clock = _BrokenClock()
    emulator = Emulator({}, clock=clock)
    emulator._backend.create_message(emulator.primary_account_sid, _request("http://127.0.0.1:9/cb"))
    clock.armed = True
    ticker = Ticker(lambda: [emulator], emulator.ticker_defect, interval=0.01)  # the one ticker serve runs
    with caplog.at_level(logging.ERROR, logger="murano_sim.emulator"):
        ticker.start()
        assert clock.failed.wait(30)
        ticker.stop()
    defects = emulator.take_defects()
    assert [str(d) for d in defects] == ["clock exploded"]
    assert any(r.exc_info and "lifecycle ticker" in r.getMessage() for r in caplog.records)
    assert emulator.take_defects() == []
    emulator.close()


def test_a_defect_in_the_webhook_sender_fails_the_test_at_teardown(pytester):
    pytester.makepyfile(test_inner="""
        import requests
        from werkzeug.wrappers import Request

        def test_sends(murano, twilio, monkeypatch):
            def broken(*args, **kwargs):
                raise RuntimeError("webhook sender exploded")  # not a RequestException: a defect
            monkeypatch.setattr(requests.Session, "request", broken)
            result = murano.run('return Twilio.postMessage({To = "+15551230000", From = "+15005550006", '
                                'Body = "x", StatusCallback = "http://127.0.0.1:9/cb"})')
            assert result.error is None
            twilio.advance(10)
            assert twilio.deliveries[0].error == "emulator defect"
    """)
    result = pytester.runpytest_inprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*EmulatorDefect: the Twilio emulator failed: RuntimeError: "
                                 "webhook sender exploded (and 2 more, see the log)*"])


def test_the_emulator_survives_a_hostile_form_and_answers_the_next_request(env):
    _, session, root = env
    hostile = [
        {"To": TO, "From": FROM, "Body": "x" * 2000},
        {"To": TO, "From": FROM, "Body": "x", "MediaUrl": "http://evil:9999\\@127.0.0.1/a.png"},
        {"To": "\x00", "From": FROM, "Body": "x"},
    ]
    for form in hostile:
        assert 400 <= session.post(f"{root}/Messages.json", data=form).status_code < 500
    assert session.post(f"{root}/Messages.json", data={"To": TO, "From": FROM, "Body": "ok"}).status_code == 201
