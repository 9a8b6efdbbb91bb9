"""The official Twilio SDK, pointed at the served emulator, cannot tell it from Twilio; every
response body these tests produce is validated against the spec's response schemas."""

from __future__ import annotations

import contextlib

import pytest
import requests
from emulator_support import Recorder, SpecValidator
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from murano_sim.services.twilio import Emulator, ManualClock, serve

OTHER_SID, OTHER_TOKEN = "AC" + "1" * 32, "other-token"
FROM = "+15005550006"
TO = "+15551230000"


@pytest.fixture(scope="module")
def validator() -> SpecValidator:
    return SpecValidator()


@pytest.fixture
def twilio(validator):
    """A served emulator (manual clock) with two accounts; yields an object with clients for both."""
    emulator = Emulator({"emulator": {"accounts": [{"AccountSid": OTHER_SID, "AuthToken": OTHER_TOKEN}]}},
                        clock=ManualClock())
    recorder = Recorder(emulator.wsgi_app)
    emulator.wsgi_app = recorder
    server = serve(emulator)

    class Env:
        pass

    env = Env()
    env.emulator, env.url, env.recorder = emulator, server.url, recorder
    env.sid, env.token = emulator.primary_account_sid, emulator.config.services["twilio"]["AuthToken"]
    env.client = Client(env.sid, env.token)
    env.client.api.base_url = server.url
    env.other = Client(OTHER_SID, OTHER_TOKEN)
    env.other.api.base_url = server.url
    yield env
    server.shutdown()
    emulator.close()
    assert recorder.validate_all(validator) > 0


@contextlib.contextmanager
def raises(status: int, code: int):
    with pytest.raises(TwilioRestException) as info:
        yield info
    assert (info.value.status, info.value.code) == (status, code), info.value


def test_message_create_returns_twilio_fields_and_types(twilio):
    m = twilio.client.messages.create(to=TO, from_=FROM, body="hello")
    assert m.sid.startswith("SM") and len(m.sid) == 34
    assert (m.status, m.direction, m.num_segments, m.num_media) == ("queued", "outbound-api", "1", "0")
    assert m.uri == f"/2010-04-01/Accounts/{twilio.sid}/Messages/{m.sid}.json"
    assert m.subresource_uris == {"media": f"/2010-04-01/Accounts/{twilio.sid}/Messages/{m.sid}/Media.json"}
    assert m.date_created is not None and m.date_sent is None


def test_message_fetch_follows_lifecycle_and_delete_removes_it(twilio):
    m = twilio.client.messages.create(to=TO, from_=FROM, body="hello")
    with raises(400, 20009):
        twilio.client.messages(m.sid).delete()
    twilio.emulator.advance(3)
    fetched = twilio.client.messages(m.sid).fetch()
    assert fetched.status == "delivered" and fetched.date_sent is not None and fetched.price.startswith("-")
    assert twilio.client.messages(m.sid).delete() is True
    with raises(404, 20404):
        twilio.client.messages(m.sid).fetch()


def test_message_list_pages_newest_first_through_several_pages(twilio):
    sids = [twilio.client.messages.create(to=TO, from_=FROM, body=f"n{i}").sid for i in range(7)]
    listed = [m.sid for m in twilio.client.messages.list(page_size=3)]
    assert listed == list(reversed(sids))
    page = twilio.client.messages.page(page_size=3)
    seen = []
    while page is not None:
        seen += [m.sid for m in page]
        page = page.next_page()
    assert seen == list(reversed(sids))
    requests_made = [e for e in twilio.recorder.exchanges if e[0] == "GET"]
    assert len(requests_made) == 6  # 3 pages twice


def test_media_one_per_url_with_content_type_and_delete(twilio):
    m = twilio.client.messages.create(to=TO, from_=FROM, media_url=["http://127.0.0.1/a.png", "http://127.0.0.1/b.jpg"])
    assert m.sid.startswith("MM") and m.num_media == "2"
    media = twilio.client.messages(m.sid).media.list()
    assert sorted(x.content_type for x in media) == ["image/jpeg", "image/png"]
    assert all(x.sid.startswith("ME") and x.parent_sid == m.sid for x in media)
    one = twilio.client.messages(m.sid).media(media[0].sid).fetch()
    assert one.sid == media[0].sid
    assert twilio.client.messages(m.sid).media(one.sid).delete() is True
    assert [x.sid for x in twilio.client.messages(m.sid).media.list()] == [media[1].sid]
    with raises(404, 20404):
        twilio.client.messages(m.sid).media(one.sid).fetch()


def test_deleting_a_message_deletes_its_media(twilio):
    m = twilio.client.messages.create(to=TO, from_=FROM, media_url=["http://127.0.0.1/a.gif"])
    media_sid = twilio.client.messages(m.sid).media.list()[0].sid
    twilio.emulator.advance(3)
    twilio.client.messages(m.sid).delete()
    assert twilio.emulator.media() == []
    with raises(404, 20404):
        twilio.client.messages(m.sid).media(media_sid).fetch()


def test_call_create_fetch_list_and_delete_once_ended(twilio):
    call = twilio.client.calls.create(to=TO, from_=FROM, twiml="<Response><Say>hi</Say></Response>")
    assert call.sid.startswith("CA") and call.status == "queued" and call.duration is None
    with raises(400, 20009):
        twilio.client.calls(call.sid).delete()
    twilio.emulator.advance(1)
    assert twilio.client.calls(call.sid).fetch().status == "ringing"
    twilio.emulator.advance(2)
    assert twilio.client.calls(call.sid).fetch().status == "in-progress"
    twilio.emulator.advance(5)
    done = twilio.client.calls(call.sid).fetch()
    assert (done.status, done.duration) == ("completed", "5")
    assert done.start_time is not None and done.end_time is not None
    assert [c.sid for c in twilio.client.calls.list()] == [call.sid]
    assert twilio.client.calls(call.sid).delete() is True
    with raises(404, 20404):
        twilio.client.calls(call.sid).fetch()


def test_calls_list_through_pages(twilio):
    sids = [twilio.client.calls.create(to=TO, from_=FROM, url="http://127.0.0.1:9/t").sid for _ in range(5)]
    assert [c.sid for c in twilio.client.calls.list(page_size=2)] == list(reversed(sids))


def test_token_has_ttl_credentials_and_ice_servers(twilio):
    token = twilio.client.tokens.create(ttl=3600)
    assert token.ttl == "3600" and token.account_sid == twilio.sid
    assert token.username and token.password
    urls = [s["urls"] for s in token.ice_servers]
    assert any(u.startswith("stun:") for u in urls) and any(u.startswith("turn:") for u in urls)
    turn = [s for s in token.ice_servers if s["urls"].startswith("turn:")]
    assert all(s["username"] == token.username and s["credential"] == token.password for s in turn)
    assert twilio.client.tokens.create().ttl == "86400"


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"to": "", "from_": FROM, "body": "x"}, 21604),
        ({"to": TO, "body": "x"}, 21603),
        ({"to": TO, "from_": FROM}, 21602),
        ({"to": TO, "from_": FROM, "body": "x" * 1601}, 21617),
        ({"to": "12345", "from_": FROM, "body": "x"}, 21211),
        ({"to": TO, "from_": "+1-not-a-number!", "body": "x"}, 21212),
        ({"to": TO, "from_": "+15005550001", "body": "x"}, 21212),
        ({"to": TO, "from_": "+15005550007", "body": "x"}, 21606),
        ({"to": TO, "from_": "+15005550008", "body": "x"}, 21611),
        ({"to": "+15005550001", "from_": FROM, "body": "x"}, 21211),
        ({"to": "+15005550002", "from_": FROM, "body": "x"}, 21612),
        ({"to": "+15005550003", "from_": FROM, "body": "x"}, 21408),
        ({"to": "+15005550004", "from_": FROM, "body": "x"}, 21610),
        ({"to": "+15005550009", "from_": FROM, "body": "x"}, 21614),
    ],
)
def test_message_errors_raise_sdk_exception_with_twilio_code(twilio, kwargs, code):
    with raises(400, code):
        twilio.client.messages.create(**kwargs)
    assert twilio.emulator.messages() == []


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"to": "", "from_": FROM, "url": "http://127.0.0.1/t"}, 21201),
        ({"to": TO, "from_": "", "url": "http://127.0.0.1/t"}, 21213),
        ({"to": TO, "from_": FROM}, 21205),
        ({"to": TO, "from_": FROM, "url": "not a url"}, 21205),
        ({"to": TO, "from_": "+15005550001", "url": "http://127.0.0.1/t"}, 21212),
        ({"to": "+15005550001", "from_": FROM, "url": "http://127.0.0.1/t"}, 21217),
        ({"to": "+15005550002", "from_": FROM, "url": "http://127.0.0.1/t"}, 21214),
        ({"to": "+15005550003", "from_": FROM, "url": "http://127.0.0.1/t"}, 21215),
        ({"to": "+15005550004", "from_": FROM, "url": "http://127.0.0.1/t"}, 21216),
        ({"to": TO, "from_": FROM, "url": "http://127.0.0.1/t", "status_callback_event": ["bogus"]}, 21626),
    ],
)
def test_call_errors_raise_sdk_exception_with_twilio_code(twilio, kwargs, code):
    with raises(400, code):
        twilio.client.calls.create(**kwargs)
    assert twilio.emulator.calls() == []


def test_wrong_credentials_are_401_with_code_20003(twilio):
    bad = Client(twilio.sid, "wrong-token")
    bad.api.base_url = twilio.url
    with raises(401, 20003):
        bad.messages.create(to=TO, from_=FROM, body="x")
    with raises(401, 20003):
        bad.calls("CA" + "0" * 32).fetch()
    r = requests.get(f"{twilio.url}/2010-04-01/Accounts/{twilio.sid}/Messages.json")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    assert "wrong-token" not in r.text and twilio.token not in r.text


def test_accounts_never_see_each_others_records(twilio):
    mine = twilio.client.messages.create(to=TO, from_=FROM, body="mine")
    call = twilio.client.calls.create(to=TO, from_=FROM, url="http://127.0.0.1:9/t")
    assert twilio.other.messages.list() == [] and twilio.other.calls.list() == []
    with raises(404, 20404):
        twilio.other.messages(mine.sid).fetch()
    with raises(404, 20404):
        twilio.other.calls(call.sid).fetch()
    media_url = f"{twilio.url}/2010-04-01/Accounts/{OTHER_SID}/Messages/{mine.sid}/Media.json"
    r = requests.get(media_url, auth=(OTHER_SID, OTHER_TOKEN))
    assert (r.status_code, r.json()["code"]) == (404, 20404)
    # Another account's path with valid credentials of a different account is not found either.
    r = requests.get(f"{twilio.url}/2010-04-01/Accounts/{twilio.sid}/Messages.json", auth=(OTHER_SID, OTHER_TOKEN))
    assert (r.status_code, r.json()["code"]) == (404, 20404)
    assert [m["sid"] for m in twilio.emulator.messages(OTHER_SID)] == []


def test_owned_numbers_reject_a_from_the_account_does_not_own(validator):
    config = {"emulator": {"owned_numbers": ["+15550001111"]}}
    with Emulator(config, clock=ManualClock()) as emulator, serve(emulator) as server:
        client = Client(emulator.primary_account_sid, emulator.config.services["twilio"]["AuthToken"])
        client.api.base_url = server.url
        with raises(400, 21606):
            client.messages.create(to=TO, from_="+15550002222", body="x")
        assert client.messages.create(to=TO, from_="+15550001111", body="x").status == "queued"
        with raises(400, 21210):
            client.calls.create(to=TO, from_="+15550002222", url="http://127.0.0.1/t")


def test_fail_next_injects_twilio_errors_for_the_next_requests(twilio):
    twilio.emulator.fail_next(429, count=2)
    with raises(429, 20429):
        twilio.client.messages("SM" + "0" * 32).fetch()
    with raises(429, 20429):
        twilio.client.messages.create(to=TO, from_=FROM, body="x")
    assert twilio.client.messages.list() == []
    twilio.emulator.fail_next(500, code=20500)
    with raises(500, 20500):
        twilio.client.tokens.create()


@pytest.mark.parametrize(
    "method, path, params, data, status, code",
    [
        ("GET", "/Nope.json", None, None, 404, 20404),
        ("PUT", "/Messages.json", None, None, 405, 20004),
        ("GET", "/Messages.json", {"PageSize": "0"}, None, 400, 20001),
        ("GET", "/Messages.json", {"Page": "-1"}, None, 400, 20001),
        ("GET", "/Messages.json", {"PageToken": "garbage"}, None, 400, 21481),
        ("GET", "/Messages.json", {"PageToken": "PASM" + "0" * 32}, None, 400, 21481),
        ("GET", "/Messages.json", {"DateSent": "yesterday"}, None, 400, 20001),
        ("POST", "/Tokens.json", None, {"Ttl": "soon"}, 400, 20001),
        ("GET", "/Messages/SM" + "0" * 32 + ".json", None, None, 404, 20404),
        ("GET", "/Calls/CA" + "0" * 32 + ".json", None, None, 404, 20404),
        ("DELETE", "/Calls/CA" + "0" * 32 + ".json", None, None, 404, 20404),
    ],
)
def test_malformed_requests_get_twilio_error_bodies(twilio, method, path, params, data, status, code):
    url = f"{twilio.url}/2010-04-01/Accounts/{twilio.sid}{path}"
    r = requests.request(method, url, params=params, data=data, auth=(twilio.sid, twilio.token))
    assert (r.status_code, r.json()["code"]) == (status, code)


def test_non_form_body_is_a_400(twilio):
    url = f"{twilio.url}/2010-04-01/Accounts/{twilio.sid}/Messages.json"
    r = requests.post(url, json={"To": TO, "From": FROM, "Body": "x"}, auth=(twilio.sid, twilio.token))
    assert (r.status_code, r.json()["code"]) == (400, 20001)


def test_spec_validation_would_catch_a_wrong_type_or_extra_field(validator):
    path = f"/2010-04-01/Accounts/{'AC' + '0' * 32}/Messages/{'SM' + '0' * 32}.json"
    good = b'{"num_segments": "1", "date_created": "Thu, 24 Aug 2023 05:01:45 +0000"}'
    validator.check("GET", path, 200, good)
    for bad in (b'{"num_segments": 1}', b'{"date_created": "2023-08-24T05:01:45Z"}', b'{"extra": "x"}'):
        with pytest.raises(Exception, match="is not|Additional properties"):
            validator.check("GET", path, 200, bad)
