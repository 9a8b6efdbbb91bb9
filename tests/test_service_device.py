"""Device (v1) from Lua: write and its datapoint event, list, productInfo, rpcCall; persistence."""

from __future__ import annotations

from murano_sim import Runtime
from murano_sim.state import State
from murano_sim.state.clock import ManualClock


def lua(runtime: Runtime, source: str):
    result = runtime.run(source)
    assert result.error is None, result.error
    return result.response.message


def test_write_stores_datapoints_and_emits_the_documented_datapoint_event():
    with Runtime({}, clock=ManualClock()) as runtime:
        now_us = round(runtime.platform.clock.now().timestamp() * 1_000_000)
        assert lua(runtime, "return Device.write{pid = 'p1', device_sn = 'sn-1', temp = 21}") == {
            "status": 204, "status_code": 204}
        (event,) = runtime.platform.events
        assert event["service"] == "device" and event["event"] == "datapoint"
        data = event["payload"]
        assert set(data) == {"api", "pid", "rid", "seq", "alias", "value", "device_sn", "source_ip", "timestamp"}
        assert (data["api"], data["pid"], data["alias"], data["device_sn"]) == ("write", "p1", "temp", "sn-1")
        # a write (not a record) is "live"; the server's time in microseconds (docs/services/device.md)
        assert data["value"] == ["live", 21] and data["timestamp"] == now_us and len(data["rid"]) == 40
        assert lua(runtime, "return Device.write{pid = 'p1', device_sn = 'sn-1'}")["status"] == 400
        assert lua(runtime, "return Device.write{pid = 'p1', device_sn = 'sn-1', t = {1}}")["status"] == 400
        assert lua(runtime, "return Device.write{pid = 'p1'}")["status"] == 400


def test_list_product_info_and_rpc_call():
    with Runtime({}, clock=ManualClock()) as runtime:
        lua(runtime, "Device.write{pid = 'p1', device_sn = 'b', temp = 1} Device.write{pid = 'p1', device_sn = 'a', "
                     "temp = 2} Device.write{pid = 'p2', device_sn = 'c', temp = 3}")
        listed = lua(runtime, "return Device.list{pid = 'p1'}")
        assert [d["sn"] for d in listed] == ["a", "b"]
        assert [d["sn"] for d in lua(runtime, "return Device.list{pid = 'p1', offset = 1}")] == ["b"]
        info = lua(runtime, "return Device.productInfo{pid = 'p1'}")
        assert info["id"] == "p1" and info["label"] == "p1" and len(info["rid"]) == 40 and "endpoint" in info
        results = lua(runtime, """
            Device.write{pid = 'p1', device_sn = 'a', temp = 5}
            return Device.rpcCall{pid = 'p1', auth = {client_id = 'a'}, calls = {
              {id = 'r', procedure = 'read', arguments = {{alias = 'temp'}, {limit = 5}}},
              {id = 'w', procedure = 'write', arguments = {{alias = 'temp'}, 9}},
              {id = 'i', procedure = 'info', arguments = {{alias = 'temp'}}},
              {id = 'x', procedure = 'drop', arguments = {{alias = 'temp'}}}}}
        """)
        read, write, info, unknown = results
        assert read["status"] == "ok" and [v for _, v in read["result"]] == [5, 2]
        assert write == {"id": "w", "status": "ok"}
        assert info["result"]["count"] == 3  # 2, 5, and the rpc write
        assert unknown["status"] == "fail" and unknown["error"]["code"] == 400
        anonymous = lua(runtime, "return Device.rpcCall{pid = 'p1', calls = {{id = 1, procedure = 'read', "
                                 "arguments = {{alias = 'temp'}}}}}")
        assert anonymous[0]["status"] == "fail" and anonymous[0]["error"]["code"] == 401


def test_datapoints_survive_a_restart_and_reset_clears_them(tmp_path):
    path = tmp_path / "state.sqlite"
    with Runtime({}, state=State(path)) as runtime:
        lua(runtime, "Device.write{pid = 'p', device_sn = 's', temp = 1}")
    with Runtime({}, state=State(path)) as runtime:
        assert [d["sn"] for d in lua(runtime, "return Device.list{pid = 'p'}")] == ["s"]
        runtime.reset()
        assert lua(runtime, "return #Device.list{pid = 'p'}") == 0


def test_the_devices_fixture_writes_v1_datapoints(murano, devices):
    devices.datapoint("p1", "sn-9", temp=3, state="ok")
    events = [e["payload"] for e in murano.runtime.platform.events if e["event"] == "datapoint"]
    assert [(e["alias"], e["value"][1], e["source_ip"]) for e in events] == [("temp", 3, "127.0.0.1"),
                                                                             ("state", "ok", "127.0.0.1")]
    assert murano.run("return Device.list{pid = 'p1'}").response.message[0]["sn"] == "sn-9"
