"""Paging (PageSize, Page, PageToken cursors, stability while records are added) and list filters."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from murano_sim.services.twilio import Emulator, ManualClock, WSGIAdapter

BASE = "http://twilio-emulator.invalid"
FROM, TO = "+15005550006", "+15551230000"


@pytest.fixture
def env():
    emulator = Emulator({}, clock=ManualClock())
    session = requests.Session()
    session.mount(BASE, WSGIAdapter(emulator.wsgi_app))
    session.auth = (emulator.primary_account_sid, emulator.config.services["twilio"]["AuthToken"])
    root = f"{BASE}/2010-04-01/Accounts/{emulator.primary_account_sid}"
    yield emulator, session, root
    emulator.close()


def send(session, root, n, **fields):
    url = f"{root}/Messages.json"
    return [session.post(url, data={"To": TO, "From": FROM, "Body": f"m{i}", **fields}).json()["sid"] for i in range(n)]


def test_envelope_has_exactly_the_meta_keys_and_one_list_key(env):
    _, session, root = env
    send(session, root, 3)
    page = session.get(f"{root}/Messages.json", params={"PageSize": 2}).json()
    assert set(page) == {"first_page_uri", "next_page_uri", "previous_page_uri", "page", "page_size", "start", "end",
                         "uri", "messages"}
    assert (page["page"], page["page_size"], page["start"], page["end"]) == (0, 2, 0, 1)
    assert page["previous_page_uri"] is None
    assert page["uri"].startswith("/2010-04-01/Accounts/") and "PageSize=2" in page["uri"]
    token = parse_qs(urlsplit(page["next_page_uri"]).query)["PageToken"][0]
    assert token == "PA" + page["messages"][-1]["sid"]
    last = session.get(BASE + page["next_page_uri"]).json()
    assert (last["page"], last["start"], last["end"], last["next_page_uri"]) == (1, 2, 2, None)
    assert len(last["messages"]) == 1


def test_default_page_size_is_50_and_lists_are_newest_first(env):
    _, session, root = env
    sids = send(session, root, 55)
    page = session.get(f"{root}/Messages.json").json()
    assert page["page_size"] == 50 and [m["sid"] for m in page["messages"]] == list(reversed(sids))[:50]


def test_pages_are_stable_while_records_are_added(env):
    _, session, root = env
    original = send(session, root, 10)
    seen, url = [], f"{root}/Messages.json?PageSize=3"
    while url:
        page = session.get(url).json()
        seen += [m["sid"] for m in page["messages"]]
        send(session, root, 2)  # newer records arrive between page fetches
        url = BASE + page["next_page_uri"] if page["next_page_uri"] else None
    assert seen == list(reversed(original))


def test_previous_page_uri_walks_back(env):
    _, session, root = env
    sids = list(reversed(send(session, root, 7)))
    first = session.get(f"{root}/Messages.json", params={"PageSize": 3}).json()
    second = session.get(BASE + first["next_page_uri"]).json()
    back = session.get(BASE + second["previous_page_uri"]).json()
    assert [m["sid"] for m in back["messages"]] == sids[:3] == [m["sid"] for m in first["messages"]]
    assert back["page"] == 0 and back["previous_page_uri"] is None


def test_page_number_without_token_is_an_offset(env):
    _, session, root = env
    sids = list(reversed(send(session, root, 7)))
    page = session.get(f"{root}/Messages.json", params={"PageSize": 3, "Page": 2}).json()
    assert [m["sid"] for m in page["messages"]] == sids[6:] and page["start"] == 6
    beyond = session.get(f"{root}/Messages.json", params={"PageSize": 3, "Page": 9}).json()
    assert beyond["messages"] == [] and beyond["next_page_uri"] is None


def test_cursor_of_a_deleted_record_still_works(env):
    emulator, session, root = env
    sids = list(reversed(send(session, root, 5)))
    first = session.get(f"{root}/Messages.json", params={"PageSize": 2}).json()
    emulator.advance(3)
    assert session.delete(f"{root}/Messages/{sids[1]}.json").status_code == 204
    rest = session.get(BASE + first["next_page_uri"]).json()
    assert [m["sid"] for m in rest["messages"]] == sids[2:4]


def test_to_from_and_status_filters(env):
    emulator, session, root = env
    a = send(session, root, 2, To="+15550000001")
    b = send(session, root, 1, To="+15550000002", From="+15550009999")
    emulator.advance(1)
    c = send(session, root, 1)

    def listed(**params):
        return [m["sid"] for m in session.get(f"{root}/Messages.json", params=params).json()["messages"]]

    assert listed(To="+15550000001") == list(reversed(a))
    assert listed(From="+15550009999") == b
    assert listed(Status="queued") == c
    assert set(listed(Status="sending")) == set(a + b)
    page = session.get(f"{root}/Messages.json", params={"To": "+15550000001", "PageSize": 1}).json()
    assert "To=%2B15550000001" in page["next_page_uri"] and "To=%2B15550000001" in page["first_page_uri"]
    assert [m["sid"] for m in session.get(BASE + page["next_page_uri"]).json()["messages"]] == [a[0]]


def test_date_sent_filters_by_day_and_bounds(env):
    emulator, session, root = env
    day1 = send(session, root, 1)
    emulator.advance(86400)  # day1's message is sent; the next is sent a day later
    day2 = send(session, root, 1)
    emulator.advance(3)
    d1 = emulator.clock.now().date().fromordinal(emulator.clock.now().date().toordinal() - 1).isoformat()
    d2 = emulator.clock.now().date().isoformat()

    def listed(**params):
        return [m["sid"] for m in session.get(f"{root}/Messages.json", params=params).json()["messages"]]

    assert listed(DateSent=d1) == day1
    assert listed(DateSent=d2) == day2
    assert listed(**{"DateSent<": d1}) == day1
    assert listed(**{"DateSent>": d2}) == day2
    assert listed(**{"DateSent>": d1}) == day2 + day1
    assert listed(**{"DateSent>": f"{d2}T00:00:00Z"}) == day2  # ISO date-times are accepted too


def test_call_filters_status_start_time_and_parent_call_sid():
    parent = "CA" + "f" * 32
    seed = {"calls": [
        {"From": FROM, "To": "+15550000001", "Status": "completed", "StartTime": "2024-03-01T10:00:00Z"},
        {"From": FROM, "To": "+15550000002", "Status": "busy", "StartTime": "2024-03-02T10:00:00Z",
         "ParentCallSid": parent},
    ]}
    with Emulator({"emulator": {"seed": seed}}, clock=ManualClock()) as emulator:
        session = requests.Session()
        session.mount(BASE, WSGIAdapter(emulator.wsgi_app))
        session.auth = (emulator.primary_account_sid, emulator.config.services["twilio"]["AuthToken"])
        root = f"{BASE}/2010-04-01/Accounts/{emulator.primary_account_sid}"

        def tos(**params):
            return [c["to"] for c in session.get(f"{root}/Calls.json", params=params).json()["calls"]]

        assert tos() == ["+15550000002", "+15550000001"]
        assert tos(Status="busy") == ["+15550000002"]
        assert tos(StartTime="2024-03-01") == ["+15550000001"]
        assert tos(**{"StartTime>": "2024-03-02"}) == ["+15550000002"]
        assert tos(**{"StartTime<": "2024-03-01"}) == ["+15550000001"]
        assert tos(ParentCallSid=parent) == ["+15550000002"]
        assert tos(To="+15550000001", Status="busy") == []


def test_media_list_pages_and_date_created_filter(env):
    emulator, session, root = env
    urls = [f"http://127.0.0.1/{i}.png" for i in range(5)]
    sid = session.post(f"{root}/Messages.json", data={"To": TO, "From": FROM, "MediaUrl": urls}).json()["sid"]
    first = session.get(f"{root}/Messages/{sid}/Media.json", params={"PageSize": 2}).json()
    assert set(first) - {"media_list"} <= {"first_page_uri", "next_page_uri", "previous_page_uri", "page",
                                           "page_size", "start", "end", "uri"}
    all_media, url = [], f"{root}/Messages/{sid}/Media.json?PageSize=2"
    while url:
        page = session.get(url).json()
        all_media += page["media_list"]
        url = BASE + page["next_page_uri"] if page["next_page_uri"] else None
    assert len(all_media) == 5 and len({m["sid"] for m in all_media}) == 5
    today = emulator.clock.now().date().isoformat()
    media_url = f"{root}/Messages/{sid}/Media.json"
    assert len(session.get(media_url, params={"DateCreated": today}).json()["media_list"]) == 5
    assert session.get(media_url, params={"DateCreated<": "2000-01-01"}).json()["media_list"] == []
