"""CLI conventions through the real command: -v/-q on every command, --json output that parses on every
command that takes it, and `murano-sim completion bash|zsh`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from murano_sim import Runtime
from murano_sim.cli import build_parser
from murano_sim.state import State

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scripts" / "example-solution"
# The commands that print results and take --json (docs/cli-conventions.md lists them).
JSON_COMMANDS = ["run", "serve", "check", "trust", "outbox", "logs", "reset", "snapshot", "device", "twilio-inbound",
                 "twilio-emulator", "init", "stubs", "lint"]
RESOURCES = {"temperature": {"format": "number"}, "led": {"format": "boolean", "settable": True}}


def murano_sim(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "murano_sim", *args], capture_output=True, text=True,
                          env=full, input=stdin, timeout=120)


def test_every_command_takes_v_and_q_and_the_listed_ones_take_json():
    parser = build_parser()
    for name, command in parser.commands.items():
        assert {"-v", "-q"} <= set(command._option_string_actions), name
    assert sorted(parser.json_commands) == sorted(JSON_COMMANDS)


def test_json_output_parses_for_run_check_and_trust(tmp_path):
    run = murano_sim("run", "-", "--json", stdin="return {a = 1}")
    assert json.loads(run.stdout)["response"]["message"] == {"a": 1}
    check = murano_sim("check", str(EXAMPLE), "--json")
    assert json.loads(check.stdout)["layout"]
    (tmp_path / "config.yaml").write_text("lua: {}\n")
    data = {"XDG_DATA_HOME": str(tmp_path / "data")}  # the trust record goes to this test's folder
    trusted = json.loads(murano_sim("trust", str(tmp_path), "--json", env=data).stdout)
    assert trusted["trusted"] is True and trusted["file"].endswith("config.yaml")
    revoked = json.loads(murano_sim("trust", str(tmp_path), "--revoke", "--json", env=data).stdout)
    assert revoked == {"file": trusted["file"], "trusted": False, "was_trusted": True}


def test_json_output_parses_for_outbox(tmp_path):
    state = tmp_path / "state.db"
    script = 'Email.send({to = "a@example.com", subject = "hi", text = "x"})'
    with Runtime({}, state=State(state)) as runtime:  # a real run writes what outbox reads
        assert runtime.run(script).error is None
    listed = json.loads(murano_sim("outbox", "--state", str(state), "--json").stdout)
    assert [m["subject"] for m in listed] == ["hi"]


def test_json_output_parses_for_device_over_http_and_mqtt(tmp_path):
    from murano_sim.net.local_ca import LocalCA
    from murano_sim.services.device2.device_api import serve_devices
    from murano_sim.services.device2.mqtt_api import serve_mqtt

    ca_dir = tmp_path / "ca"
    config = {"serve": {"mqtt_ca_dir": str(ca_dir)}}
    with Runtime(config, solution_configs={"device2": {"resources": RESOURCES}}) as runtime, \
            serve_devices(runtime.platform) as http, serve_mqtt(runtime.platform) as mqtt:
        mqtt_where = ["--mqtt", mqtt.url, "--ca", str(LocalCA(ca_dir).ca_path)]
        for name, where in (("h-1", ["--url", http.url]), ("m-1", mqtt_where)):
            base = ["device", *where, "--token-file", str(tmp_path / "tokens.json"), "--json"]
            provisioned = json.loads(murano_sim(*base, "provision", name).stdout)
            assert provisioned == {"identity": name, "provisioned": True, "token_file": str(tmp_path / "tokens.json")}
            wrote = json.loads(murano_sim(*base, "write", name, "temperature=19.5").stdout)
            assert wrote == {"identity": name, "wrote": {"temperature": "19.5"}}
            runtime.run(f"Device2.setIdentityState{{identity = '{name}', led = true}}")
            read = json.loads(murano_sim(*base, "read", name, "led").stdout)
            assert read["identity"] == name and read["values"] == {"led": "true"}, read


def test_json_output_parses_for_twilio_inbound(tmp_path):
    from murano_sim.solution import serve_solution

    with Runtime({}) as runtime, serve_solution(ROOT / "tests" / "solutions" / "newer", runtime) as served:
        args = ["--to", "+15005550006", "--from", "+15551230000", "--body", "hi", "--json"]
        ok = murano_sim("twilio-inbound", served.url + "/twilio/sms", *args)
        missing = murano_sim("twilio-inbound", served.url + "/nowhere", *args)
    delivered = json.loads(ok.stdout)
    assert ok.returncode == 0 and delivered["delivered"] is True and delivered["status"] == 200
    assert delivered["sid"].startswith("SM") and "<Message>Got: hi</Message>" in delivered["body"]
    refused = json.loads(missing.stdout)
    assert missing.returncode == 1 and refused["delivered"] is False and refused["status"] == 404


def test_json_output_parses_for_twilio_emulator(tmp_path):
    import signal

    from twilio.rest import Client

    proc = subprocess.Popen([sys.executable, "-m", "murano_sim", "twilio-emulator", "--port", "0", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        started = json.loads(proc.stdout.readline())
        client = Client(started["credentials"]["account_sid"], started["credentials"]["auth_token"])
        client.api.base_url = started["url"]  # the object is all a script needs to talk to it
        assert client.messages.create(to="+17635551234", from_="+16125550923", body="hi").body == "hi"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and out == "", err  # one line only


def test_json_output_parses_for_init_and_stubs(tmp_path):
    root = tmp_path / "solution"
    made = json.loads(murano_sim("init", str(root), "--json").stdout)
    assert made["solution"] == str(root) and len(made["wrote"]) > 5
    assert all(Path(path).is_file() for path in made["wrote"])
    assert str(root / ".luacheckrc") in made["wrote"]
    stubs = json.loads(murano_sim("stubs", str(root), "--json").stdout)
    assert str(root / ".luacheckrc") in stubs["wrote"] and set(stubs["wrote"]) < set(made["wrote"])


def test_verbose_prints_the_loaders_debug_line_and_quiet_prints_only_the_result():
    verbose = murano_sim("check", str(EXAMPLE), "-v")
    assert f"murano-sim: murano_sim.loader: {EXAMPLE}: " in verbose.stderr
    assert "murano_sim.loader" not in murano_sim("check", str(EXAMPLE)).stderr
    quiet = murano_sim("run", "-", "-q", stdin="return 1")
    assert quiet.stderr == "" and json.loads(quiet.stdout)["response"]["message"] == 1


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_prints_a_script_that_knows_every_command(shell):
    proc = murano_sim("completion", shell)
    assert proc.returncode == 0, proc.stderr
    for command in build_parser().commands:
        assert command in proc.stdout
    interpreter = shutil.which(shell)
    if interpreter is None:
        pytest.skip(f"{shell} is not installed: the script was checked for the commands only")
    syntax = subprocess.run([interpreter, "-n"], input=proc.stdout, capture_output=True, text=True, timeout=60)
    assert syntax.returncode == 0, syntax.stderr
