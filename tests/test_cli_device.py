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


def test_mqtt_device_provisions_writes_and_reads_over_tls_verified_against_the_local_ca(tmp_path, capsys):
    from murano_sim.net.local_ca import LocalCA
    from murano_sim.services.device2.mqtt_api import serve_mqtt

    token_file, ca_dir = tmp_path / "tokens.json", tmp_path / "ca"
    config = {"serve": {"mqtt_ca_dir": str(ca_dir)}}
    with Runtime(config, clock=ManualClock(), solution_configs={"device2": {"resources": RESOURCES}}) as runtime, \
            serve_mqtt(runtime.platform) as server:
        base = ["device", "--mqtt", server.url, "--ca", str(LocalCA(ca_dir).ca_path), "--token-file", str(token_file)]
        assert main([*base, "provision", "mq-cli"]) == 0
        token = json.loads(token_file.read_text())[server.url]["mq-cli"]
        assert token not in capsys.readouterr().out

        assert main([*base, "write", "mq-cli", "temperature=19.5"]) == 0  # QoS 1: returns after the handler ran
        capsys.readouterr()
        state = runtime.run("return Device2.getIdentityState{identity = 'mq-cli'}").response.message
        assert state["temperature"]["reported"] == 19.5

        runtime.run("Device2.setIdentityState{identity = 'mq-cli', led = true}")  # set while offline: synced on connect
        assert main([*base, "read", "mq-cli", "led"]) == 0
        assert capsys.readouterr().out.splitlines() == ["led=true"]

        assert main([*base, "provision", "mq-cli"]) == 1  # already provisioned: refused, one line
        # the server runs in this process, so its own log line (murano_sim.mqtt) lands on this stderr too
        err = [line for line in capsys.readouterr().err.splitlines() if "murano_sim.mqtt:" not in line]
        assert len(err) == 1 and "provisioning was refused" in err[0], err


def test_mqtt_device_refuses_a_server_its_ca_does_not_sign(tmp_path, capsys):
    from murano_sim.net.local_ca import LocalCA
    from murano_sim.services.device2.mqtt_api import serve_mqtt

    other = LocalCA(tmp_path / "other")
    other.ensure()
    with Runtime({"serve": {"mqtt_ca_dir": str(tmp_path / "ca")}}, clock=ManualClock()) as runtime, \
            serve_mqtt(runtime.platform) as server:
        code = main(["device", "--mqtt", server.url, "--ca", str(other.ca_path),
                     "--token-file", str(tmp_path / "t.json"), "provision", "x"])
    err = capsys.readouterr().err
    assert code == 2 and "CERTIFICATE_VERIFY_FAILED" in err and len(err.splitlines()) == 1


def test_ca_and_wait_are_refused_where_they_would_do_nothing(tmp_path, capsys):
    http = ["device", "--url", "http://127.0.0.1:9", "--token-file", str(tmp_path / "t.json")]
    assert main([*http, "--ca", "ca.pem", "--wait", "5", "read", "d", "x"]) == 2
    err = capsys.readouterr().err
    assert "--ca and --wait apply to --mqtt only" in err and len(err.splitlines()) == 1
    assert main([*http, "--wait", "5", "read", "d", "x"]) == 2
    assert "--wait apply to --mqtt only" in capsys.readouterr().err
    mqtt = ["device", "--mqtt", "mqtts://127.0.0.1:9", "--token-file", str(tmp_path / "t.json")]
    assert main([*mqtt, "--wait", "5", "provision", "d"]) == 2
    err = capsys.readouterr().err
    assert "--wait applies to read only" in err and len(err.splitlines()) == 1
