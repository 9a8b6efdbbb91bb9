"""Exosite's own device client, `gdc` (pip murano-client), against `murano-sim serve`: every `gdc http` command.

What each command prints is murano-client's documented output ("[204] No content", "[200] data_in=42").
The solution is served as a subprocess; its handlers and endpoints are real Lua.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from test_solution_cli import Serving

GDC = shutil.which("gdc", path=str(Path(sys.executable).parent)) or shutil.which("gdc")
pytestmark = pytest.mark.skipif(GDC is None, reason="murano-client (gdc) is not installed (Python <= 3.11)")

HANDLER = """--#EVENT device2 data_in
local seen = Keystore.get{key = "data_in"}.value or ""
for _, entry in ipairs(event.payload) do
  for alias, value in pairs(entry.values) do
    seen = seen .. alias .. "=" .. tostring(value) .. "@" .. tostring(math.floor(entry.timestamp / 1000000)) .. ";"
  end
end
Keystore.set{key = "data_in", value = seen}
"""
ENDPOINTS = """--#ENDPOINT GET /seen
return Keystore.get{key = "data_in"}.value or "none"

--#ENDPOINT POST /config/{identity}
return Device2.setIdentityState{identity = request.parameters.identity, config_io = request.body.config_io}
"""


@pytest.fixture(scope="module")
def serving(tmp_path_factory) -> Iterator[tuple[str, str]]:
    root = tmp_path_factory.mktemp("gdc-solution")
    (root / "murano.yaml").write_text("formatversion: 1.0.0\n")
    (root / "endpoints").mkdir()
    (root / "endpoints" / "api.lua").write_text(ENDPOINTS)
    (root / "services").mkdir()
    (root / "services" / "device2_data_in.lua").write_text(HANDLER)
    # config_io is the product's resource; data_in is not listed here (it is defined in the product)
    (root / "services" / "device2.yaml").write_text("resources:\n  config_io: {format: string, settable: true}\n")
    served = Serving(str(root))
    try:
        assert served.devices_line.startswith("devices: http://127.0.0.1:"), served.devices_line
        yield served.first_line.split()[-1], served.devices_line.removeprefix("devices: ")
    finally:
        code, _, err = served.stop()
        assert code == 0 and "Traceback" not in err


def gdc(devices: str, *args: str, token: str | None = None, identity: str | None = None) -> str:
    before = [*(["-k", token] if token else []), *(["-u", identity] if identity else [])]
    done = subprocess.run([GDC, *before, "http", "-H", devices + "/", *args],  # type: ignore[list-item]
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout.strip()


def identity_of(request) -> str:
    return request.node.name[:40]


@pytest.fixture
def token(serving, request) -> str:
    """Activates a device named for the test; its token."""
    cik = gdc(serving[1], "activate", identity=identity_of(request))
    assert len(cik) == 40 and int(cik, 16) >= 0, cik
    return cik


def test_timestamp_is_the_solution_clock(serving):
    assert abs(int(gdc(serving[1], "timestamp")) - int(requests.get(serving[1] + "/timestamp", timeout=10).text)) <= 1


def test_activate_twice_is_a_conflict(serving, token, request):
    assert gdc(serving[1], "activate", identity=identity_of(request)).startswith("[409]")


def test_write_then_read_gives_the_latest_value_of_a_resource_the_solution_does_not_list(serving, token):
    assert gdc(serving[1], "write", "data_in", "42", token=token) == "[204] No content"
    assert gdc(serving[1], "read", "data_in", token=token) == "[200] data_in=42"
    assert gdc(serving[1], "write", "data_in", '{"t": 21.5}', token=token) == "[204] No content"
    assert gdc(serving[1], "read", "data_in", token=token) == '[200] data_in={"t": 21.5}'


def test_read_gives_what_the_solution_set(serving, token, request):
    set_state = requests.post(serving[0] + f"/config/{identity_of(request)}", json={"config_io": "interval=5"},
                              timeout=10)
    assert set_state.status_code == 200, set_state.text
    assert gdc(serving[1], "read", "config_io", token=token) == "[200] config_io=interval=5"
    assert gdc(serving[1], "read", "never_written", token=token) == "[204] No Content"


def test_record_stores_timestamped_values_and_raises_data_in(serving, token):
    assert gdc(serving[1], "record", "1600000000", "level", "7", token=token) == "[204] No content"
    assert gdc(serving[1], "read", "level", token=token) == "[200] level=7"
    assert "level=7@1600000000;" in requests.get(serving[0] + "/seen", timeout=10).text
    # an older recorded value is history: the latest stays
    assert gdc(serving[1], "record", "1500000000", "level", "3", token=token) == "[204] No content"
    assert gdc(serving[1], "read", "level", token=token) == "[200] level=7"


def test_poll_answers_a_value_newer_than_if_modified_since_and_times_out_with_304(serving, token):
    gdc(serving[1], "write", "data_in", "polled", token=token)
    assert gdc(serving[1], "poll", "data_in", "1000", "1", token=token) == "[200] data_in=polled"
    assert gdc(serving[1], "poll", "data_in", "500", token=token) == "[304] Not modified"


def test_a_wrong_token_is_refused(serving):
    assert gdc(serving[1], "read", "data_in", token="0" * 40) == "[401] No or invalid TOKEN."


def test_content_commands_are_refused_clearly(serving, token):
    listed = gdc(serving[1], "content", "list", token=token)
    assert listed == "[501] the content area (/provision/download) is not emulated by murano-sim"


def test_the_writes_reached_the_solutions_handler(serving, token):
    gdc(serving[1], "write", "handled", "yes", token=token)
    assert "handled=yes@" in requests.get(serving[0] + "/seen", timeout=10).text
    assert gdc(serving[1], "read", "handled", token=token) == "[200] handled=yes"
