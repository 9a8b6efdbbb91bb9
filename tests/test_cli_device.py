"""`murano-sim device --url URL`: provision, write, read against a real device API on loopback."""

from __future__ import annotations

import json
import stat

from murano_sim import Runtime
from murano_sim.cli import main
from murano_sim.services.device2.device_api import serve_devices
from murano_sim.state.clock import ManualClock

RESOURCES = {"temperature": {"format": "number"}, "led": {"format": "boolean", "settable": True}}


def test_provision_write_read_with_the_token_kept_in_a_file_and_never_printed(tmp_path, capsys):
    token_file = tmp_path / "tokens.json"
    with Runtime({}, clock=ManualClock(), solution_configs={"device2": {"resources": RESOURCES}}) as runtime, \
            serve_devices(runtime.platform) as server:
        base = ["device", "--url", server.url, "--token-file", str(token_file)]
        assert main([*base, "provision", "cli-1"]) == 0
        out = capsys.readouterr().out
        token = json.loads(token_file.read_text())[server.url]["cli-1"]
        assert token not in out and str(token_file) in out
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600

        assert main([*base, "write", "cli-1", "temperature=19.5"]) == 0
        capsys.readouterr()
        state = runtime.run("return Device2.getIdentityState{identity = 'cli-1'}").response.message
        assert state["temperature"]["reported"] == 19.5

        runtime.run("Device2.setIdentityState{identity = 'cli-1', led = true}")
        assert main([*base, "read", "cli-1", "led", "temperature"]) == 0
        assert capsys.readouterr().out.splitlines() == ["led=true", "temperature=19.5"]

        assert main([*base, "provision", "cli-1"]) == 1  # already provisioned: the API's 409, one line
        err = capsys.readouterr().err
        assert err.startswith("murano-sim: device API answered 409:") and len(err.splitlines()) == 1

        assert main([*base, "write", "cli-1", "temperature=hot"]) == 1
        assert "must be a number" in capsys.readouterr().err


def test_usage_errors_are_one_line(tmp_path, capsys):
    token_file = tmp_path / "tokens.json"
    assert main(["device", "--url", "http://127.0.0.1:9", "--token-file", str(token_file), "read", "ghost", "x"]) == 2
    err = capsys.readouterr().err
    assert "no token for 'ghost'" in err and "provision ghost" in err and len(err.splitlines()) == 1
    token_file.write_text(json.dumps({"http://127.0.0.1:9": {"d": "t"}}))
    args = ["device", "--url", "http://127.0.0.1:9", "--token-file", str(token_file)]
    assert main([*args, "write", "d", "novalue"]) == 2
    assert "alias=value" in capsys.readouterr().err
