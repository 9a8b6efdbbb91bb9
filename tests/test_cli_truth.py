"""The CLI tells the truth: bad ports and addresses, E.164, --request, help, demo credentials."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from murano_sim import load_config
from murano_sim.runtime.request import build_request
from murano_sim.services.twilio.server import demo_credentials_line
from murano_sim.services.twilio.settings import DEMO_AUTH_TOKEN

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "tests" / "solutions" / "newer"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "murano_sim.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


def one_line_exit_2(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and fragment in lines[0], proc.stderr


@pytest.mark.parametrize("args", [
    ("serve", str(SOLUTION), "--port", "99999"),
    ("serve", str(SOLUTION), "--device-port", "-1"),
    ("twilio-emulator", "--port", "70000"),
])
def test_ports_outside_the_range_are_refused(args):
    one_line_exit_2(cli(*args), "outside 0-65535")


@pytest.mark.parametrize("command", [("serve", str(SOLUTION)), ("twilio-emulator",)])
def test_a_port_in_use_is_one_line(command):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        one_line_exit_2(cli(*command, "--port", port), "Address already in use")


def test_a_device_port_in_use_is_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        proc = cli("serve", str(SOLUTION), "--port", "0", "--device-port", str(busy.getsockname()[1]))
    one_line_exit_2(proc, "Address already in use")


def test_an_address_that_cannot_be_bound_is_one_line():
    one_line_exit_2(cli("twilio-emulator", "--host", "192.0.2.1", "--port", "0"), "cannot listen on 192.0.2.1")


@pytest.mark.parametrize("flag", ["--from", "--to"])
def test_twilio_inbound_checks_e164(flag):
    numbers = {"--from": "+15551230000", "--to": "+15005550006", flag: "555"}
    proc = cli("twilio-inbound", "http://127.0.0.1:9/sms", "--body", "hi", *[x for kv in numbers.items() for x in kv])
    one_line_exit_2(proc, "E.164")


@pytest.mark.parametrize("request_json, fragment", [
    ('{"method": 5}', "'method' must be a string"),
    ('{"parameters": [1]}', "'parameters' must be an object"),
    ('{"headers": "x"}', "'headers' must be an object"),
])
def test_request_fields_are_checked(request_json, fragment):
    one_line_exit_2(cli("run", "--request", request_json, "scripts/examples/postMessage.lua"), fragment)


def test_top_level_help_lists_each_command_once():
    text = cli("--help").stdout
    for command in ("run", "serve", "twilio-emulator", "twilio-inbound", "device", "check", "outbox"):
        assert len([line for line in text.splitlines() if line.startswith(f"  {command} ")]) == 1, command


def test_serve_help_states_the_config_default():
    assert "SOLUTION_DIR/config.yaml" in " ".join(cli("serve", "--help").stdout.split())


def test_demo_credentials_are_announced_and_configured_ones_never():
    assert DEMO_AUTH_TOKEN in (demo_credentials_line(load_config({})) or "")
    mine = load_config({"services": {"twilio": {"AccountSid": "AC" + "1" * 32, "AuthToken": "f" * 32}}})
    assert demo_credentials_line(mine) is None


def test_run_builds_the_request_as_serve_does():
    built = build_request({
        "uri": "http://localhost/users/7?sort=asc&id=query&tag=a&tag=b",
        "parameters": {"id": "7"},
        "headers": {"Content-Type": "application/x-www-form-urlencoded", "X-Thing": "1"},
        "body": "From=%2B15551230000&Body=hi+there",
    })
    assert built["parameters"] == {"sort": "asc", "id": "7", "tag": ["a", "b"]}
    assert built["headers"] == {"content-type": "application/x-www-form-urlencoded", "x-thing": "1"}
    assert built["body"] == {"From": "+15551230000", "Body": "hi there"}
    assert build_request(built) == built  # idempotent: serve builds it, the runtime builds it again
    assert build_request(dict(built)) == built  # the same built again from a plain copy


def test_a_request_without_fields_is_the_defaults_alone_with_a_fresh_id_each_time():
    plain, given = build_request(None, now=5), build_request({}, now=5)
    del plain["request_id"], given["request_id"]
    assert plain == given
    assert plain["timestamp"] == 5 and plain["method"] == "GET" and plain["parameters"] == {}
    ids = {build_request(None)["request_id"] for _ in range(50)} | {build_request({})["request_id"] for _ in range(50)}
    assert len(ids) == 100 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert build_request({"request_id": "mine"})["request_id"] == "mine"
