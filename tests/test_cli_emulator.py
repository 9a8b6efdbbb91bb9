"""`murano-sim twilio-emulator`: first line is the URL, the SDK talks to it, SIGTERM exits 0."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

from twilio.rest import Client

from murano_sim.services.twilio.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN


def test_served_emulator_answers_the_official_sdk_and_stops_cleanly(tmp_path):
    state = tmp_path / "state.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "murano_sim.cli", "twilio-emulator", "--port", "0", "--state", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        # The built-in demo credentials are not secrets: the second line says which to use.
        assert proc.stdout.readline().startswith(f"credentials: AccountSid {DEMO_ACCOUNT_SID} AuthToken ")
        client = Client(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
        client.api.base_url = url
        message = client.messages.create(to="+17635551234", from_="+16125550923", body="hi")
        assert client.messages(message.sid).fetch().body == "hi"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert DEMO_AUTH_TOKEN not in out + err  # only the credentials line above shows it
    assert state.exists()


def test_bad_state_path_is_a_one_line_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "murano_sim.cli", "twilio-emulator", "--port", "0",
         "--state", str(tmp_path / "missing-dir" / "state.db")],
        capture_output=True, text=True, cwd=tmp_path, timeout=30,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_the_twilio_commands_come_from_the_plugin():
    from murano_sim.services.plugin import discover, load_attribute

    [plugin] = [p for p in discover() if p.alias == "twilio"]  # the CLI adds each plugin's commands; Twilio has two
    parser = argparse.ArgumentParser()
    handlers = load_attribute(plugin.cli)(parser.add_subparsers(dest="command"))
    assert sorted(handlers) == ["twilio-emulator", "twilio-inbound"]
    args = parser.parse_args(["twilio-inbound", "http://127.0.0.1:9/x", "--from", "+1555", "--to", "+1500",
                              "--body", "hi", "--trust"])
    assert args.trust and args.method == "POST" and callable(handlers[args.command])
