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


def _write(served, identity: str, **values: str) -> None:
    with serve_devices(served.runtime.platform) as api:
        token = requests.post(f"{api.url}/provision/activate", data={"id": identity}, timeout=10).text
        wrote = requests.post(f"{api.url}/onep:v1/stack/alias", data=values, headers={"X-Exosite-CIK": token},
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
    at = int(served.runtime.clock.now().timestamp())
    _write(served, "sensor-7", temperature="21.5", humidity="40")
    assert served.get("/seen/datapoints").text == (
        f"write temperature=21.5 from sensor-7 at {at};write humidity=40 from sensor-7 at {at};")
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
    now = int(served.runtime.clock.now().timestamp())
    _write(served, "sensor-7", temperature="21.5")
    api, pid, rid, seq, alias, sn, ip, timestamp, value_type = json.loads(served.get("/seen/fields").text)
    assert (api, alias, sn, ip) == ("write", "temperature", "sensor-7", "127.0.0.1")
    assert (timestamp, value_type) == (now, "table")
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
