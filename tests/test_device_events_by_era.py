"""A device's write reaches the handler its solution's era expects, and only that one.

The solutions are written here in the shapes of Exosite's public ones: a 2016 Solutionfile with a
Device v1 `datapoint` handler (the 2016 bootcamp's eventhandlers/device_datapoint.lua reads
`data.alias`, `data.device_sn`, `data.value[2]`), a 2017 MuranoCLI project whose product events
reach a `{product.id}` handler, and a current murano.yaml solution. The device is a real HTTP client
of the device API; the handlers are real Lua writing what they saw to Keystore.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from murano_sim.services.device2.device_api import serve_devices

READ_BACK = """--#ENDPOINT GET /seen/{key}
local got = Keystore.get{key = request.parameters.key}
return got.value or "none"
"""
DATAPOINT = """local seen = Keystore.get{key = "datapoints"}.value or ""
Keystore.set{key = "datapoints", value = seen .. data.api .. " " .. data.alias .. "=" .. tostring(data.value[2])
  .. " from " .. data.device_sn .. " at " .. tostring(data.value[1]) .. ";"}
"""
DATA_IN = """Keystore.set{key = "data_in", value = to_json(event.payload[1].values)}
"""


def _solutionfile(root: Path, handlers: dict[str, str]) -> Path:
    """A Solutionfile 0.2 solution (2016) with an endpoint file and the given event handlers."""
    (root / "event_handler").mkdir(parents=True)
    (root / "api.lua").write_text(READ_BACK)
    mapping: dict[str, dict[str, str]] = {}
    for key, source in handlers.items():
        service, event = key.split(" ")
        (root / "event_handler" / f"{service}_{event}.lua").write_text(source)
        mapping.setdefault(service, {})[event] = f"event_handler/{service}_{event}.lua"
    (root / "Solutionfile.json").write_text(json.dumps({"custom_api": "api.lua", "event_handler": mapping}))
    return root


def _write(served, identity: str, *writes: dict[str, str], **values: str) -> None:
    """Activate, then each write (or the one given as keywords), the solution's clock moving 60 s between."""
    with serve_devices(served.runtime.platform) as api:
        token = requests.post(f"{api.url}/provision/activate", data={"id": identity}, timeout=10).text
        for index, write in enumerate(writes or (values,)):
            if index:
                served.runtime.platform.advance(60)
            wrote = requests.post(f"{api.url}/onep:v1/stack/alias", data=write, headers={"X-Exosite-CIK": token},
                                  timeout=10)
            assert wrote.status_code == 204, wrote.text


def _record(served, identity: str, body: str) -> None:
    with serve_devices(served.runtime.platform) as api:
        token = requests.post(f"{api.url}/provision/activate", data={"id": identity}, timeout=10).text
        recorded = requests.post(f"{api.url}/onep:v1/stack/record", data=body, timeout=10, headers={
            "X-Exosite-CIK": token, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        assert recorded.status_code == 204, recorded.text


def test_a_2016_solution_gets_one_device_datapoint_per_dataport(murano_solution, tmp_path):
    served = murano_solution(_solutionfile(tmp_path, {"device datapoint": DATAPOINT}))
    _write(served, "sensor-7", temperature="21.5", humidity="40")
    assert served.get("/seen/datapoints").text == (
        "write temperature=21.5 from sensor-7 at live;write humidity=40 from sensor-7 at live;")
    assert not [line for line in served.logs if "data_in: no handler" in str(line)]


def test_a_recorded_value_is_a_datapoint_with_api_record_and_its_own_time(murano_solution, tmp_path):
    served = murano_solution(_solutionfile(tmp_path, {"device datapoint": DATAPOINT}))
    _record(served, "sensor-7", "alias=temperature&1600000000=19&1600000060=20")
    assert served.get("/seen/datapoints").text == (
        "record temperature=19 from sensor-7 at 1600000000;record temperature=20 from sensor-7 at 1600000060;")


def test_the_event_fields_are_the_2016_references(murano_solution, tmp_path):
    fields = 'Keystore.set{key = "fields", value = to_json({data.api, data.pid, data.rid, data.seq, data.alias, ' \
             'data.device_sn, data.source_ip, data.timestamp, type(data.value)})}\n'
    served = murano_solution(_solutionfile(tmp_path, {"device datapoint": fields}))
    now_us = round(served.runtime.clock.now().timestamp() * 1_000_000)
    _write(served, "sensor-7", temperature="21.5")
    api, pid, rid, seq, alias, sn, ip, timestamp, value_type = json.loads(served.get("/seen/fields").text)
    assert (api, alias, sn, ip) == ("write", "temperature", "sensor-7", "127.0.0.1")
    assert (timestamp, value_type) == (now_us, "table")  # microseconds: see docs/services/device.md
    assert pid and isinstance(seq, int) and len(rid) == 40 and int(rid, 16) >= 0


def test_a_solution_with_both_handlers_runs_only_the_device2_one(murano_solution, tmp_path):
    handlers = {"device datapoint": DATAPOINT, "device2 data_in": DATA_IN}
    served = murano_solution(_solutionfile(tmp_path, handlers))
    _write(served, "sensor-7", temperature="21.5")
    assert json.loads(served.get("/seen/data_in").text) == {"temperature": "21.5"}
    assert served.get("/seen/datapoints").text == "none"


def test_the_device_v1_handler_wins_over_the_generic_device2_event(murano_solution, tmp_path):
    generic = ('local seen = Keystore.get{key = "generic"}.value or ""\n'
               'Keystore.set{key = "generic", value = seen .. event.type .. ";"}\n')
    served = murano_solution(_solutionfile(tmp_path, {"device datapoint": DATAPOINT, "device2 event": generic}))
    _write(served, "sensor-7", temperature="21.5")
    assert served.get("/seen/datapoints").text.startswith("write temperature=21.5")
    assert served.get("/seen/generic").text == "provisioned;"  # the write's data_in went to the datapoint only


def _muranocli(root: Path, handler: str) -> Path:
    """A MuranoCLI project (2017): .murano/config locations, a product event handler."""
    (root / ".murano").mkdir(parents=True)
    (root / ".murano" / "config").write_text("[location]\nendpoints = routes\neventhandlers = services\n")
    (root / "routes").mkdir()
    (root / "routes" / "seen.get.lua").write_text(READ_BACK)
    (root / "services").mkdir()
    (root / "services" / "product.lua").write_text(handler)
    return root


def test_a_muranocli_projects_product_event_handler_gets_the_device_write(murano_solution, tmp_path):
    handler = ('--#EVENT {product.id} event\n'
               'Keystore.set{key = "product", value = event.type .. " " .. event.identity .. " " '
               '.. event.payload[1].values.temperature}\n')
    served = murano_solution(_muranocli(tmp_path, handler))
    _write(served, "sensor-7", temperature="21.5")
    assert served.get("/seen/product").text == "data_in sensor-7 21.5"


def test_a_muranocli_typed_product_handler_runs_instead_of_the_datapoint(murano_solution, tmp_path):
    handler = '--#EVENT {product.id} data_in\nKeystore.set{key = "typed", value = event.type}\n'
    root = _muranocli(tmp_path, handler)
    (root / "services" / "device_datapoint.lua").write_text("--#EVENT device datapoint\n" + DATAPOINT)
    served = murano_solution(root)
    _write(served, "sensor-7", temperature="21.5")
    assert served.get("/seen/typed").text == "data_in"
    assert served.get("/seen/datapoints").text == "none"


def _current(root: Path, config: str = "") -> Path:
    (root / "murano.yaml").write_text("formatversion: 1.0.0\n")
    (root / "endpoints").mkdir(parents=True)
    (root / "endpoints" / "seen.lua").write_text(READ_BACK)
    (root / "services").mkdir()
    (root / "services" / "device_datapoint.lua").write_text(DATAPOINT)
    if config:
        (root / "config.yaml").write_text(config)
    return root


def test_a_current_solution_gets_no_device_v1_event(murano_solution, tmp_path):
    served = murano_solution(_current(tmp_path))
    _write(served, "sensor-7", temperature="21.5")
    assert served.get("/seen/datapoints").text == "none"
    assert any("device2 data_in: no handler" in str(line) for line in served.logs)


@pytest.mark.parametrize("era", [2016, 2017])
def test_config_yaml_era_brings_the_device_v1_event_back(murano_solution, tmp_path, era):
    served = murano_solution(_current(tmp_path, f"era: {era}\n"))
    _write(served, "sensor-7", temperature="21.5")
    assert served.get("/seen/datapoints").text.startswith("write temperature=21.5 from sensor-7")


# -- the datapoints a device wrote, as Device v1 kept them ----------------------------------------
# An old solution reads its devices' dataports with Device.rpcCall / Device.list, for the product it
# finds in Config.solution().products[1] (the HVAC application's pattern).
HISTORY = """--#ENDPOINT GET /history/{sn}
local pid = Config.solution().products[1]
local sn = request.parameters.sn
local rpc = Device.rpcCall{pid = pid, auth = {client_id = sn}, calls = {
  {id = 1, procedure = "read", arguments = {{alias = "temperature"}, {limit = 5}}},
  {id = 2, procedure = "info", arguments = {{alias = "temperature"}}}}}
local listed = {}
for _, device in ipairs(Device.list{pid = pid}) do listed[#listed + 1] = device.sn end
return {pid = pid, read = rpc[1].result, count = rpc[2].result.count, devices = listed}
"""


def _with_history(root: Path) -> Path:
    (root / "history.lua").write_text(HISTORY)
    return root


def test_a_2016_solution_reads_back_what_its_device_wrote_through_rpccall(murano_solution, tmp_path):
    root = _solutionfile(tmp_path, {"device datapoint": DATAPOINT})
    doc = json.loads((root / "Solutionfile.json").read_text())
    (root / "api.lua").write_text(READ_BACK + "\n" + HISTORY)
    (root / "Solutionfile.json").write_text(json.dumps(doc))
    served = murano_solution(root)
    at = int(served.runtime.clock.now().timestamp())
    _write(served, "sensor-7", {"temperature": "21.5"}, {"temperature": "22"})
    got = served.get("/history/sensor-7").json()
    assert got["read"] == [[at + 60, "22"], [at, "21.5"]]  # newest first, the values as the device sent them
    assert (got["count"], got["devices"]) == (2, ["sensor-7"])
    assert served.get("/history/sensor-8").json()["count"] == 0


def test_datapoints_are_kept_whichever_handler_runs_and_recorded_ones_by_their_own_time(murano_solution, tmp_path):
    root = _solutionfile(tmp_path, {"device2 data_in": DATA_IN})
    (root / "api.lua").write_text(READ_BACK + "\n" + HISTORY)
    served = murano_solution(root)
    _record(served, "sensor-7", "alias=temperature&1600000060=20&1600000000=19")
    assert served.get("/seen/data_in").text != "none"  # the device2 handler ran, not a datapoint one
    assert served.get("/history/sensor-7").json()["read"] == [[1600000060, "20"], [1600000000, "19"]]


def test_a_current_solution_keeps_no_device_v1_datapoints(murano_solution, tmp_path):
    root = _current(tmp_path)
    (root / "endpoints" / "history.lua").write_text(HISTORY)
    served = murano_solution(root)
    _write(served, "sensor-7", temperature="21.5")
    assert served.get("/history/sensor-7").json()["count"] == 0


def test_a_muranocli_projects_product_id_comes_from_its_murano_config(murano_solution, tmp_path):
    fields = '--#EVENT device datapoint\nKeystore.set{key = "pid", value = data.pid}\n'
    root = _muranocli(tmp_path, fields)
    (root / ".murano" / "config").write_text(
        "[business]\nid = b1x2y3\n[product]\nid = p4q5r6s7t8\n[location]\nendpoints = routes\n"
        "eventhandlers = services\n")
    (root / "routes" / "history.lua").write_text(HISTORY)
    served = murano_solution(root)
    _write(served, "sensor-7", temperature="21.5")
    assert served.get("/seen/pid").text == "p4q5r6s7t8"
    got = served.get("/history/sensor-7").json()
    assert (got["pid"], got["read"][0][1], got["devices"]) == ("p4q5r6s7t8", "21.5", ["sensor-7"])


# The 2016 bootcamp's pattern: the device's rid from a `lookup` by serial number on the product,
# then reads and writes with auth.client_id = that rid.
BY_RID = """--#ENDPOINT POST /state/{sn}/{value}
local pid = Config.solution().products[1]
local sn = request.parameters.sn
local found = Device.rpcCall{pid = pid, calls = {{id = "1", procedure = "lookup", arguments = {"alias", sn}}}}
if found[1].status ~= "ok" then return {lookup = found[1].status} end
local rid = found[1].result
local rpc = Device.rpcCall{pid = pid, auth = {client_id = rid}, calls = {
  {id = "w", procedure = "write", arguments = {{alias = "state"}, request.parameters.value}},
  {id = "t", procedure = "read", arguments = {{alias = "temperature"}, {limit = 1}}},
  {id = "s", procedure = "read", arguments = {{alias = "state"}, {limit = 1}}}}}
return {rid = rid, write = rpc[1].status, temperature = rpc[2].result[1][2], state = rpc[3].result[1][2]}
"""


def test_a_device_is_found_by_lookup_and_addressed_by_its_rid(murano_solution, tmp_path):
    seen = '--#EVENT device datapoint\nKeystore.set{key = "datapoints", value = data.alias .. "@" .. data.device_sn}\n'
    root = _muranocli(tmp_path, seen)
    (root / "routes" / "state.lua").write_text(BY_RID)
    served = murano_solution(root)
    assert served.post("/state/bulb-1/1").json() == {"lookup": "fail"}  # never wrote: not found
    _write(served, "bulb-1", temperature="71")
    got = served.post("/state/bulb-1/1").json()
    assert (got["write"], got["temperature"], got["state"]) == ("ok", "71", "1")
    assert len(got["rid"]) == 40
    assert served.get("/seen/datapoints").text == "state@bulb-1"  # the rid's write is the device's own


# A 2016 lock solution (modelled on Exosite's public lock example): the web app's endpoint writes the
# lock's command with Device.write, or through rpcCall as a 2016 home-automation module does, and the
# lock's firmware reads it through the device API (GET /onep:v1/stack/alias?lock-command).
COMMAND = """--#ENDPOINT POST /lock/{sn}
local pid = Config.solution().products[1]
if request.body.rpc then
  local rid = Device.rpcCall{pid = pid, calls = {{id = 1, procedure = "lookup",
    arguments = {"alias", request.parameters.sn}}}}[1].result
  return Device.rpcCall{pid = pid, auth = {client_id = rid}, calls = {{id = 1, procedure = "write",
    arguments = {{alias = "lock-command"}, request.body.command}}}}[1].status
end
return Device.write{pid = pid, device_sn = request.parameters.sn, ["lock-command"] = request.body.command}
"""


def test_a_solutions_device_write_is_what_the_device_reads(murano_solution, tmp_path):
    (tmp_path / "api.lua").write_text(COMMAND)
    (tmp_path / "Solutionfile.json").write_text(json.dumps({"custom_api": "api.lua"}))
    served = murano_solution(tmp_path)
    with serve_devices(served.runtime.platform) as api:
        token = requests.post(f"{api.url}/provision/activate", data="vendor=p&model=p&sn=front", timeout=10,
                              headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}).text
        device = {"X-Exosite-CIK": token, "Accept": "application/x-www-form-urlencoded; charset=utf-8"}

        def read() -> requests.Response:
            return requests.get(f"{api.url}/onep:v1/stack/alias?lock-command", headers=device, timeout=10)

        assert read().status_code == 204  # nothing written yet
        assert served.post("/lock/front", json={"command": "unlock"}).status_code == 200
        got = read()
        assert (got.status_code, got.text) == (200, "lock-command=unlock")
        # the device writes once, so the 2016 lookup finds it; then the rpcCall write lands the same way
        assert requests.post(f"{api.url}/onep:v1/stack/alias", data={"battery": "90"}, headers=device,
                             timeout=10).status_code == 204
        assert served.post("/lock/front", json={"command": "lock", "rpc": True}).text == "ok"
        assert read().text == "lock-command=lock"


def test_product_info_lists_the_products_resources():
    from murano_sim import Runtime

    with Runtime({}) as runtime:
        result = runtime.run("""Device2.addGatewayResource{alias = "temperature", format = "number"}
            Device2.addGatewayResource{alias = "state"}
            local names = {}
            for _, r in ipairs(Device.productInfo{pid = "p1"}.resources) do
              names[#names + 1] = r.alias .. ":" .. r.format
            end
            return names""")
        assert result.error is None, result.error
        assert result.response.message == ["state:string", "temperature:number"]
