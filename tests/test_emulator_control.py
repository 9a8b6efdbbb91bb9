"""The standalone emulator's control plane (/_emulator/), driven over real HTTP by another
process's client: the emulator runs as `murano-sim twilio-emulator` in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from emulator_support import WebhookReceiver
from twilio.rest import Client

import murano_sim
from murano_sim.services.twilio.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

FROM, TO = "+15005550006", "+15551230000"
OURS = "+15005550010"


@pytest.fixture(scope="module")
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory, receiver):
    folder = tmp_path_factory.mktemp("control")
    (folder / "config.yaml").write_text(
        "emulator:\n  numbers:\n"
        f"    '{OURS}': {{sms_url: '{receiver.url}/sms', voice_url: '{receiver.url}/voice'}}\n"
        "    '+15551230009': {call: busy}\n", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "murano_sim.cli", "twilio-emulator", "--port", "0", "--config", "config.yaml"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder,
        # this checkout's murano_sim, whichever one the venv has installed
        env={**os.environ, "PYTHONPATH": str(Path(murano_sim.__file__).parents[1])},
    )
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), proc.stderr.read()
    served = type("Served", (), {})()
    served.url, served.proc = url, proc
    served.client = Client(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
    served.client.api.base_url = url
    yield served
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    served.stderr = err
    assert proc.returncode == 0, err
    # one log line per API request, and never a credential
    assert DEMO_AUTH_TOKEN not in err
    assert any(line.startswith("POST /2010-04-01/Accounts/") and line.endswith(" 201") for line in err.splitlines())


def post(served, route: str, **body):
    return requests.post(f"{served.url}/_emulator/{route}", json=body, timeout=30)


@pytest.fixture(autouse=True)
def fresh(served, receiver):
    assert post(served, "reset").json() == {"ok": True}
    receiver.requests.clear()
    receiver.bodies.clear()


def test_advance_moves_the_lifecycle_and_reset_clears(served):
    sid = served.client.messages.create(to=TO, from_=FROM, body="hi").sid
    answer = post(served, "advance", seconds=10)
    assert answer.status_code == 200 and "now" in answer.json()
    assert served.client.messages(sid).fetch().status == "delivered"
    post(served, "reset")
    assert served.client.messages.list() == []


def test_outcomes_route_fails_deliveries(served):
    assert post(served, "outcomes", number=TO, sms="undelivered", error_code=30003).json() == {"ok": True}
    sid = served.client.messages.create(to=TO, from_=FROM, body="hi").sid
    post(served, "advance", seconds=10)
    message = served.client.messages(sid).fetch()
    assert (message.status, message.error_code) == ("undelivered", 30003)
    bad = post(served, "outcomes", number=TO, sms="lost")
    assert bad.status_code == 400 and "sms" in bad.json()["error"]


def test_fail_next_as_a_form_and_requests_newest_first(served):
    answer = requests.post(f"{served.url}/_emulator/fail_next", data={"status": "503", "count": "1"}, timeout=30)
    assert answer.json() == {"ok": True}
    with pytest.raises(Exception, match="503"):
        served.client.messages.list()
    served.client.messages.list()
    logged = requests.get(f"{served.url}/_emulator/requests", params={"limit": 2}, timeout=30).json()["requests"]
    assert [r["status"] for r in logged] == [200, 503] and all(r["method"] == "GET" for r in logged)
    assert DEMO_AUTH_TOKEN not in str(logged)


def test_inbound_sms_reaches_the_numbers_sms_url(served, receiver):
    answer = post(served, "messages/inbound", From=TO, To=OURS, Body="hello", MediaUrl=["http://127.0.0.1:9/a.png"])
    assert answer.json()["sid"].startswith("SM")
    form = receiver.requests[-1]["form"]
    assert (receiver.requests[-1]["path"], form["Body"], form["NumMedia"]) == ("/sms", "hello", "1")


def test_inbound_ivr_call_press_and_transcript(served, receiver):
    # The emulator runs on the real clock: each <Gather> waits 60 s (not Twilio's 5) on a loaded machine.
    receiver.bodies["/voice"] = ('<Response><Gather numDigits="1" timeout="60" action="/menu"><Say>Press 1 or 2.'
                                 "</Say></Gather></Response>")
    receiver.bodies["/menu"] = "<Response><Say>You chose well.</Say><Hangup/></Response>"
    sid = post(served, "calls/inbound", From=TO, To=OURS).json()["sid"]
    transcript = requests.get(f"{served.url}/_emulator/calls/{sid}/transcript", timeout=30).json()["transcript"]
    assert transcript == [{"verb": "Say", "text": "Press 1 or 2."}]
    pressed = post(served, f"calls/{sid}/press", digits="2").json()["transcript"]
    assert [e["verb"] for e in pressed] == ["Say", "Gather", "Say", "Hangup"] and pressed[1]["digits"] == "2"
    assert served.client.calls(sid).fetch().status == "completed"


def test_speak_and_hangup(served, receiver):
    receiver.bodies["/voice"] = '<Response><Gather input="speech" timeout="60" action="/said"/></Response>'
    receiver.bodies["/said"] = '<Response><Gather input="speech" timeout="60"/></Response>'
    sid = post(served, "calls/inbound", From=TO, To=OURS).json()["sid"]
    post(served, f"calls/{sid}/speak", text="yes please")
    assert receiver.requests[-1]["form"]["SpeechResult"] == "yes please"
    assert post(served, f"calls/{sid}/hangup").json() == {"ok": True}
    assert served.client.calls(sid).fetch().status == "completed"
    again = post(served, f"calls/{sid}/hangup")
    assert again.status_code == 400 and "already completed" in again.json()["error"]


def test_errors_are_one_line_json(served):
    assert post(served, "advance").status_code == 400
    assert post(served, "advance", seconds="soon").json() == {"error": "seconds must be a number, got 'soon'"}
    missing = requests.get(f"{served.url}/_emulator/calls/CA{'0' * 32}/transcript", timeout=30)
    assert missing.status_code == 404 and "no call" in missing.json()["error"]
    nothing = requests.get(f"{served.url}/_emulator/nope", timeout=30)
    assert nothing.status_code == 404 and "error" in nothing.json()
    wrong = requests.post(f"{served.url}/_emulator/reset", data="x", headers={"Content-Type": "text/plain"},
                          timeout=30)
    assert wrong.status_code == 415


def test_dns_rebinding_and_cross_site_requests_are_refused(served):
    rebound = requests.post(f"{served.url}/_emulator/reset", headers={"Host": "evil.example"}, timeout=30)
    assert rebound.status_code == 403 and "Host" in rebound.json()["error"]
    csrf = requests.post(f"{served.url}/_emulator/reset", headers={"Origin": "http://evil.example"}, timeout=30)
    assert csrf.status_code == 403 and "Origin" in csrf.json()["error"]
    same = requests.post(f"{served.url}/_emulator/reset", headers={"Origin": served.url}, timeout=30)
    assert same.status_code == 200
    # a read from another origin is not state-changing: allowed (the browser keeps the answer from it)
    read = requests.get(f"{served.url}/_emulator/requests", headers={"Origin": "http://evil.example"}, timeout=30)
    assert read.status_code == 200
