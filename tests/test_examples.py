"""The twelve documentation examples run unchanged on the shipped config.yaml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "scripts" / "examples"
OPERATIONS = ["createCall", "deleteCall", "getCall", "listCall", "deleteMedia", "getMedia", "listMedia",
              "deleteMessage", "getMessage", "listMessage", "postMessage", "createToken"]


def run_example(name: str) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "murano_sim.cli", "run", str(EXAMPLES / f"{name}.lua")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    return proc.returncode, json.loads(proc.stdout)


def test_there_is_one_example_per_operation():
    assert sorted(p.stem for p in EXAMPLES.glob("*.lua")) == sorted(OPERATIONS)


@pytest.mark.parametrize("name", OPERATIONS)
def test_example_exits_0_with_its_operation_called(name):
    code, out = run_example(name)
    assert code == 0, out["error"]
    assert out["error"] is None
    assert out["calls"][-1]["operation"] == name


@pytest.mark.parametrize(
    "name, listing, key, sid_argument, status",
    [
        ("getCall", "listCall", "calls", "CallSid", 200),
        ("deleteCall", "listCall", "calls", "CallSid", 204),
        ("getMessage", "listMessage", "messages", "MessageSid", 200),
        ("deleteMessage", "listMessage", "messages", "MessageSid", 204),
        ("listMedia", "listMessage", "messages", "MessageSid", 200),
    ],
)
def test_list_then_act_examples_act_on_a_seeded_record(name, listing, key, sid_argument, status):
    _, out = run_example(name)
    first, second = out["calls"]
    assert first["operation"] == listing
    seeded_sid = first["result"][key][0]["sid"]
    assert second["arguments"] == {sid_argument: seeded_sid}
    assert second["status"] == status


def test_list_media_example_finds_the_seeded_media():
    _, out = run_example("listMedia")
    media = out["response"]["message"]["media_list"]
    assert len(media) == 1 and media[0]["content_type"] == "image/jpeg"


def test_post_message_example_returns_the_queued_message():
    _, out = run_example("postMessage")
    message = out["response"]["message"]
    assert message["status"] == "queued" and message["sid"].startswith("SM")
    assert message["body"] == "Your device is in an error state."
    assert out["calls"][0]["arguments"] == {"From": "+16125550923", "To": "+17635551234",
                                            "Body": "Your device is in an error state."}


def test_examples_with_placeholder_sids_return_murano_error_table():
    code, out = run_example("getMedia")
    assert code == 0
    assert out["response"]["message"]["type"] == "QueryError"
    assert out["response"]["message"]["status"] == 400


def test_without_any_config_file_the_local_emulator_and_demo_credentials_are_used(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "murano_sim.cli", "run", str(EXAMPLES / "postMessage.lua")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # this checkout's murano_sim
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["response"]["message"]["status"] == "queued"
