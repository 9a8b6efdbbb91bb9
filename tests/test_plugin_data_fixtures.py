"""The `keystore` and `tsdb` fixtures over the `murano` runtime: seed from Python, read from Lua, and back."""

from __future__ import annotations


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
