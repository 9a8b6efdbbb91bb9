"""The `keystore` and `tsdb` fixtures over the `murano` runtime: seed from Python, read from Lua, and back."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_keystore_fixture_is_a_dict_view_of_what_lua_sees(murano, keystore):
    keystore["greeting"] = "hello"
    assert murano.run("return Keystore.get{key = 'greeting'}").response.message == {"value": "hello"}
    murano.run("Keystore.set{key = 'count', value = 3} "
               "Keystore.command{key = 'h', command = 'hset', args = {'f', 'v'}}")
    assert "count" in keystore and keystore["count"] == "3" and keystore["h"] == {"f": "v"}
    assert dict(keystore.items()) == {"count": "3", "greeting": "hello", "h": {"f": "v"}}
    del keystore["greeting"]
    assert "greeting" not in keystore and len(keystore) == 2
    assert murano.run("return next(Keystore.get{key = 'greeting'}) == nil").response.message is True


def test_tsdb_fixture_writes_and_reads_points(murano, tsdb):
    now_s = int(murano.runtime.clock.now().timestamp())
    tsdb.write({"temp": 21.5}, {"sn": "a"}, ts=f"{now_s - 60}s")
    result = murano.run("return Tsdb.query{metrics = {'temp'}, relative_start = '-5m', epoch = 's'}")
    assert result.response.message["values"] == [[now_s - 60, 21.5]]
    murano.run("Tsdb.write{metrics = {hum = 40}, tags = {sn = 'b'}}")
    assert [(p["value"], p["tags"]) for p in tsdb.points("hum")] == [(40, {"sn": "b"})]
    assert tsdb.points()[0] == {"metric": "temp", "ts": (now_s - 60) * 1_000_000, "value": 21.5, "tags": {"sn": "a"}}


CASE_SERVICES = Path(__file__).resolve().parent / "solutions" / "case-services"


def test_a_served_solution_gives_the_fixtures_objects_over_its_own_data(murano_solution):
    app = murano_solution(CASE_SERVICES)
    app.keystore["count"] = "9"  # seeded from Python, read by the endpoint over HTTP
    assert app.post("/bump", json={"who": "ada"}).json() == {"count": 10}
    assert app.keystore["count"] == "10" and dict(app.keystore) == {"count": "10"}
    assert [(p["value"], p["tags"]) for p in app.tsdb.points("bumps")] == [(10, {"who": "ada"})]
    assert app.timers.ids() == ["later"]
    app.users.create("ada@example.com", "s3cret-Pass")
    assert app.post("/invite", json={"email": "ada@example.com", "password": "s3cret-Pass",
                                     "friend": "bob@example.com"}).status_code == 200
    assert app.outbox.last["to"] == ["bob@example.com"]
    assert type(app.keystore).__name__ == "KeystoreView"


def test_a_served_solution_has_no_attribute_a_service_does_not_declare(murano_solution):
    app = murano_solution(CASE_SERVICES)
    with pytest.raises(AttributeError):
        app.no_such_fixture  # noqa: B018 - the attribute access is the test
