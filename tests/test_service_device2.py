"""Device2 from Lua: identities, resource state and its rules, tags, gateway settings, events, persistence."""

from __future__ import annotations

import pytest

from murano_sim import Runtime
from murano_sim.state import State
from murano_sim.state.clock import ManualClock

RESOURCES = {
    "temperature": {"format": "number", "unit": "C"},
    "mode": {"format": "string", "allowed": ["on", "off"], "settable": True, "initial": "off"},
    "level": {"format": "number", "allowed": [[0, 10], 42], "settable": True},
    "enabled": {"format": "boolean", "settable": True},
}


def device2_runtime(**device2) -> Runtime:
    settings = {"resources": RESOURCES, **device2}
    return Runtime({}, clock=ManualClock(), solution_configs={"device2": settings})


def lua(runtime: Runtime, source: str):
    result = runtime.run(source)
    assert result.error is None, result.error
    return result.response.message


def events(runtime: Runtime, event: str) -> list[dict]:
    return [e["payload"] for e in runtime.platform.events if e["service"] == "device2" and e["event"] == event]


def test_identity_lifecycle_with_documented_statuses():
    with device2_runtime() as runtime:
        assert lua(runtime, "return Device2.addIdentity{identity = 'd1'}") == {"status": 204, "status_code": 204}
        duplicate = lua(runtime, "return Device2.addIdentity{identity = 'd1'}")
        assert duplicate["status"] == 409 and "d1" in duplicate["error"]
        unknown = lua(runtime, "return Device2.getIdentity{identity = 'nope'}")
        assert unknown["status"] == 404
        assert lua(runtime, "return Device2.setIdentityState{identity = 'nope', mode = 'on'}")["status"] == 404
        got = lua(runtime, "return Device2.getIdentity{identity = 'd1'}")
        assert got["identity"] == "d1" and got["status"] == "whitelisted" and got["locked"] is False
        assert got["state"]["mode"]["set"] == "off"  # the settable resource's initial value
        assert lua(runtime, "return Device2.updateIdentity{identity = 'd1', locked = true}")["status"] == 204
        assert lua(runtime, "return Device2.getIdentity{identity = 'd1'}")["status"] == "locked"
        assert lua(runtime, "return Device2.removeIdentity{identity = 'd1'}")["status"] == 204
        assert lua(runtime, "return Device2.removeIdentity{identity = 'd1'}")["status"] == 404
        (deleted,) = events(runtime, "deleted")
        assert deleted["type"] == "deleted" and deleted["identity"] == "d1"


def test_add_identities_is_all_or_nothing_and_update_identities_each():
    with device2_runtime() as runtime:
        lua(runtime, "Device2.addIdentity{identity = 'b'}")
        clash = lua(runtime, "return Device2.addIdentities{identities = {'a', {identity = 'b'}}}")
        assert clash["status"] == 409
        assert lua(runtime, "return Device2.countIdentities()")["total"] == 1
        assert lua(runtime, "return Device2.addIdentities{identities = {'a', {identity = 'c', locked = true}}}")[
            "status"] == 204
        lua(runtime, "Device2.updateIdentities{identities = {{identity = 'a', locked = true}}}")
        counts = lua(runtime, "return Device2.countIdentities()")
        assert counts == {"total": 3, "whitelisted": 1, "provisioned": 0, "locked": 2, "reprovision": 0}


def test_set_identity_state_checks_format_allowed_and_settable_and_emits_data_out():
    with device2_runtime() as runtime:
        lua(runtime, "Device2.addIdentity{identity = 'd1'}")
        bad_value = lua(runtime, "return Device2.setIdentityState{identity = 'd1', mode = 'sideways'}")
        assert bad_value["status"] == 400 and "not allowed" in bad_value["error"]
        assert lua(runtime, "return Device2.setIdentityState{identity = 'd1', level = 11}")["status"] == 400
        assert lua(runtime, "return Device2.setIdentityState{identity = 'd1', level = 'high'}")["status"] == 400
        assert lua(runtime, "return Device2.setIdentityState{identity = 'd1', enabled = 'maybe'}")["status"] == 400
        read_only = lua(runtime, "return Device2.setIdentityState{identity = 'd1', temperature = 3}")
        assert read_only["status"] == 400 and "not settable" in read_only["error"]
        assert lua(runtime, "return Device2.setIdentityState{identity = 'd1', nothing = 1}")["status"] == 400
        assert events(runtime, "data_out") == []  # refused calls change nothing
        ok = lua(runtime, "return Device2.setIdentityState{identity = 'd1', mode = 'on', level = 42, enabled = true}")
        assert ok["status"] == 204
        state = lua(runtime, "return Device2.getIdentityState{identity = 'd1'}")
        assert {k: v["set"] for k, v in state.items()} == {"mode": "on", "level": 42, "enabled": True}
        assert "reported" not in state["mode"]
        (out,) = events(runtime, "data_out")
        assert out["identity"] == "d1" and out["type"] == "data_out"
        values = {"mode": "on", "level": 42, "enabled": True}
        assert out["payload"] == [{"timestamp": out["timestamp"], "values": values}]
        assert out["timestamp"] == state["mode"]["timestamp"]


def test_without_resource_definitions_any_alias_is_an_open_settable_string():
    with Runtime({}, clock=ManualClock()) as runtime:
        lua(runtime, "Device2.addIdentity{identity = 'd1'}")
        assert lua(runtime, "return Device2.setIdentityState{identity = 'd1', config_io = 'x', n = 5}")["status"] == 204
        state = lua(runtime, "return Device2.getIdentityState{identity = 'd1'}")
        assert state["config_io"]["set"] == "x" and state["n"]["set"] == "5"


def test_device_data_in_sets_reported_and_set_and_emits_the_documented_event():
    with device2_runtime() as runtime:
        lua(runtime, "Device2.addIdentity{identity = 'd1'}")
        model = runtime.platform.by_alias["device2"].model
        runtime.advance(5)
        model.data_in("d1", {"temperature": "21.5", "undeclared": "raw"}, ip="127.0.0.1", connection_id="c-1")
        state = lua(runtime, "return Device2.getIdentityState{identity = 'd1'}")
        assert state["temperature"]["reported"] == 21.5 and state["temperature"]["set"] == 21.5
        assert "undeclared" not in state
        (event,) = events(runtime, "data_in")
        assert event == {
            "type": "data_in", "identity": "d1", "timestamp": state["temperature"]["timestamp"], "ip": "127.0.0.1",
            "connection_id": "c-1",
            "payload": [{"timestamp": event["timestamp"], "values": {"temperature": 21.5, "undeclared": "raw"}}],
        }
        assert event["timestamp"] == int(runtime.platform.clock.now().timestamp() * 1_000_000)


def test_list_and_count_identities_filter_and_page():
    with device2_runtime() as runtime:
        lua(runtime, """
            for _, id in ipairs({'lamp-1', 'lamp-2', 'lamp-3', 'pump-1'}) do Device2.addIdentity{identity = id} end
            Device2.addIdentityTag{identity = 'lamp-2', tags = {{name = 'room', value = 'hall'}}}
            Device2.addIdentityTag{identity = 'pump-1', name = 'room', value = 'hall'}
            Device2.updateIdentity{identity = 'lamp-3', locked = true}
        """)
        ids = lua(runtime, """
            local function ids(r) local out = {} for i, d in ipairs(r.devices) do out[i] = d.identity end return out end
            return {
              all = ids(Device2.listIdentities()),
              prefix = ids(Device2.listIdentities{identity = 'lamp'}),
              glob = ids(Device2.listIdentities{identity = '*-1'}),
              tagged = ids(Device2.listIdentities{tag = {name = 'room', value = 'hall'}}),
              both = ids(Device2.listIdentities{identity = 'lamp', tags = {{name = 'room', value = 'hall'}}}),
              locked = ids(Device2.listIdentities{status = 'locked'}),
              page = ids(Device2.listIdentities{limit = 2, offset = 1}),
            }
        """)
        assert ids == {
            "all": ["lamp-1", "lamp-2", "lamp-3", "pump-1"], "prefix": ["lamp-1", "lamp-2", "lamp-3"],
            "glob": ["lamp-1", "pump-1"], "tagged": ["lamp-2", "pump-1"], "both": ["lamp-2"], "locked": ["lamp-3"],
            "page": ["lamp-2", "lamp-3"],
        }
        counts = lua(runtime, "return Device2.countIdentities{identity = 'lamp'}")
        assert counts == {"total": 3, "whitelisted": 2, "provisioned": 0, "locked": 1, "reprovision": 0}
        assert lua(runtime, "return Device2.listIdentities{status = 'asleep'}")["status"] == 400


def test_tags_add_replace_remove_and_list():
    with device2_runtime() as runtime:
        lua(runtime, "Device2.addIdentity{identity = 'd1'} Device2.addIdentity{identity = 'd2'}")
        lua(runtime, """
            Device2.addIdentityTag{identity = 'd1',
                                   tags = {{name = 'user', value = 'ada'}, {name = 'user', value = 'bob'}}}
            Device2.addIdentityTag{identity = 'd2', tags = {{name = 'site', value = 3}}}
        """)
        assert lua(runtime, "return Device2.getIdentityTag{identity = 'd1'}") == [
            {"name": "user", "value": "ada"}, {"name": "user", "value": "bob"}]
        lua(runtime, "Device2.addIdentityTag{identity = 'd1', replace = true, tags = {{name = 'user', value = 'cy'}}}")
        assert lua(runtime, "return Device2.getIdentityTag{identity = 'd1', name = 'user'}") == [
            {"name": "user", "value": "cy"}]
        assert lua(runtime, "return Device2.listTagNames()") == ["site", "user"]
        assert lua(runtime, "return Device2.listTagName{name = 'site'}") == ["3"]
        assert lua(runtime, "return Device2.removeIdentityTag{identity = 'd1', name = 'user'}")["status"] == 204
        assert lua(runtime, "return #Device2.getIdentityTag{identity = 'd1'}") == 0
        assert lua(runtime, "return Device2.addIdentityTag{identity = 'zz', name = 'a', value = 'b'}")["status"] == 404
        assert lua(runtime, "return Device2.addIdentityTag{identity = 'd1'}")["status"] == 400


def test_gateway_settings_and_resources():
    with device2_runtime(identity_format={"prefix": "dev-", "type": "base10", "length": 6}) as runtime:
        settings = lua(runtime, "return Device2.getGatewaySettings()")
        assert settings["protocol"] == {"name": "onep:v1/http"}
        assert settings["provisioning"]["auth_type"] == "token"
        assert settings["identity_format"]["prefix"] == "dev-"
        assert lua(runtime, "return Device2.getGatewayResource{alias = 'mode'}")["allowed"] == ["on", "off"]
        assert lua(runtime, "return Device2.getGatewayResource{alias = 'nope'}")["status"] == 404
        added = lua(runtime, "return Device2.addGatewayResource{alias = 'speed', format = 'number', settable = true, "
                             "initial = 3, unit = 'rpm'}")
        assert added["status"] == 204
        assert lua(runtime, "return Device2.addGatewayResource{alias = 'speed'}")["status"] == 409
        assert lua(runtime, "return Device2.addGatewayResource{alias = 'a.b'}")["status"] == 400
        assert sorted(lua(runtime, "return Device2.getGatewayResource()")) == sorted([*RESOURCES, "speed"])
        made = lua(runtime, "return Device2.makeIdentity()")["identity"]
        assert made.startswith("dev-") and len(made) == 10 and made[4:].isdigit()
        assert lua(runtime, f"return Device2.getIdentityState{{identity = '{made}'}}")["speed"]["set"] == 3


def test_event_types_setting_limits_what_is_emitted():
    with device2_runtime(events={"types": ["deleted"]}) as runtime:
        lua(runtime, "Device2.addIdentity{identity = 'd1'} Device2.setIdentityState{identity = 'd1', mode = 'on'} "
                     "Device2.removeIdentity{identity = 'd1'}")
        assert [e["event"] for e in runtime.platform.events] == ["deleted"]


def test_state_survives_a_restart_and_reset_empties_it(tmp_path):
    path = tmp_path / "state.sqlite"
    config = {"device2": {"resources": RESOURCES}}
    with Runtime({}, state=State(path), solution_configs=config) as runtime:
        lua(runtime, "Device2.addIdentity{identity = 'kept'} Device2.setIdentityState{identity = 'kept', mode = 'on'} "
                     "Device2.addIdentityTag{identity = 'kept', name = 'a', value = 'b'} "
                     "Device2.addGatewayResource{alias = 'extra'}")
    with Runtime({}, state=State(path), solution_configs=config) as runtime:
        got = lua(runtime, "return Device2.getIdentity{identity = 'kept'}")
        assert got["state"]["mode"]["set"] == "on" and got["tags"] == [{"name": "a", "value": "b"}]
        assert lua(runtime, "return Device2.getGatewayResource{alias = 'extra'}")["format"] == "string"
        runtime.reset()
        assert lua(runtime, "return Device2.countIdentities()")["total"] == 0
        assert lua(runtime, "return Device2.getGatewayResource{alias = 'extra'}")["status"] == 404


@pytest.mark.murano(config={"services": {"device2": {"resources": {"temp": {"format": "number"},
                                                                   "led": {"format": "boolean", "settable": True}}}}})
def test_the_devices_fixture_acts_as_a_device(murano, devices):
    token = devices.provision("sim-1")
    assert len(token) == 40
    devices.data_in("sim-1", temp="20")
    assert devices.state("sim-1")["temp"]["reported"] == 20
    assert murano.run("return Device2.setIdentityState{identity = 'sim-1', led = true}").response.message[
        "status"] == 204
    assert devices.read("sim-1", "led", "temp") == {"led": True, "temp": 20}
    devices.connect("sim-1")
    devices.disconnect("sim-1")
    assert [e["type"] for e in devices.events()] == ["provisioned", "data_in", "data_out", "connect", "disconnect"]
    assert devices.identities() == ["sim-1"]


@pytest.mark.murano(config={"services": {"device2": {"resources": {"temp": {"format": "number"},
                                                                   "led": {"format": "boolean", "settable": True}}}}})
def test_the_devices_fixture_connects_a_device_over_mqtt(murano, devices, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # the local CA is made here, not in the home folder
    device = devices.mqtt("mq-fix")
    device.write(temp=20.5)  # returns once the data_in handler ran
    assert devices.state("mq-fix")["temp"]["reported"] == 20.5
    murano.run("return Device2.setIdentityState{identity = 'mq-fix', led = true}")
    assert device.receive() == ("led", "true")
    assert murano.runtime.platform.control("device2").inspect()["devices"][0]["connected"] == ["mqtt"]
    assert [e["type"] for e in devices.events()][:3] == ["provisioned", "connect", "data_in"]
    devices.provision("mq-known")  # provisioned before: mqtt() re-provisions it for a token of its own
    devices.mqtt("mq-known").write(temp=3)
    assert devices.state("mq-known")["temp"]["reported"] == 3


def test_added_resources_follow_reset_and_snapshot_loads():
    # The definitions are read once and kept (every device write asks): each change must still show.
    with device2_runtime() as runtime:
        lua(runtime, "Device2.addIdentity{identity = 'd1'}")
        lua(runtime, "Device2.addGatewayResource{alias = 'speed', format = 'number', settable = true}")
        assert lua(runtime, "return Device2.setIdentityState{identity = 'd1', speed = 1}")["status"] == 204
        runtime.platform.save_snapshot("with-speed", "s")
        assert "speed" in lua(runtime, "return Device2.getGatewayResource()")
        runtime.reset()
        assert lua(runtime, "return Device2.getGatewayResource{alias = 'speed'}")["status"] == 404
        lua(runtime, "Device2.addIdentity{identity = 'd1'}")
        refused = lua(runtime, "return Device2.setIdentityState{identity = 'd1', speed = 1}")
        assert refused["status"] == 400 and "speed" in refused["error"], refused
        runtime.platform.load_snapshot("with-speed", "s")
        assert lua(runtime, "return Device2.getGatewayResource{alias = 'speed'}")["format"] == "number"
        assert lua(runtime, "return Device2.addGatewayResource{alias = 'speed'}")["status"] == 409
