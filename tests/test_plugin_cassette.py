"""Record/replay in live mode with vcrpy: record against a loopback stand-in for Twilio, replay offline."""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator

import pytest
from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture

from murano_sim import load_config
from murano_sim.errors import UsageError
from murano_sim.services.twilio import Emulator, ManualClock, serve
from murano_sim.testing.cassettes import cassette

pytest_plugins = ["pytester"]

SID = "AC" + "5" * 32
TOKEN = "f00d" * 8  # a live-looking Auth Token that only this test's stand-in accepts

SEND_TEST = """
import pytest

SEND = 'return Twilio.postMessage({To = "+15551234567", From = "+15005550006", Body = "recorded"})'

@pytest.mark.murano_cassette("send.yaml")
def test_send(murano):
    result = murano.run(SEND)
    assert result.response.message["status"] == "queued", result.to_dict()
    assert result.response.message["body"] == "recorded"
    assert result.calls[0]["status"] == 201
"""


class StandIn:
    """The real emulator served on a loopback port, accepting the live-looking credentials."""

    def __init__(self) -> None:
        config = load_config({"services": {"twilio": {"AccountSid": SID, "AuthToken": TOKEN}}})
        self.emulator = Emulator(config, clock=ManualClock())
        self.server = serve(self.emulator)
        self.url = self.server.url

    def stop(self) -> None:
        self.server.shutdown()
        self.emulator.close()


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.stop()


def live_config(url: str, token: str | None = TOKEN) -> str:
    lines = ["services:", "  twilio:", "    backend: live", f"    base_url: {url}", f"    AccountSid: {SID}",
             "    retries: 0"]
    if token:
        lines.append(f"    AuthToken: {token}")
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def no_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)


def assert_scrubbed(text: str) -> None:
    basic = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert TOKEN not in text
    assert basic not in text
    assert "authorization" not in text.lower()


def test_marker_records_then_replays_with_the_stand_in_gone(pytester, stand_in):
    pytester.makefile(".yaml", live=live_config(stand_in.url))
    pytester.makepyfile(test_live=SEND_TEST)
    pytester.runpytest("--murano-config", "live.yaml").assert_outcomes(passed=1)
    assert [m["body"] for m in stand_in.emulator.messages()] == ["recorded"]
    recorded = pytester.path / "cassettes" / "send.yaml"
    assert recorded.is_file()
    assert_scrubbed(recorded.read_text())
    assert "/Messages.json" in recorded.read_text()

    stand_in.stop()
    pytester.runpytest("--murano-config", "live.yaml").assert_outcomes(passed=1)


def test_replay_needs_no_auth_token(pytester, stand_in):
    pytester.makefile(".yaml", live=live_config(stand_in.url), notoken=live_config(stand_in.url, token=None))
    pytester.makepyfile(test_live=SEND_TEST)
    pytester.runpytest("--murano-config", "live.yaml").assert_outcomes(passed=1)
    stand_in.stop()
    pytester.runpytest("--murano-config", "notoken.yaml").assert_outcomes(passed=1)


def test_replay_refuses_a_request_the_cassette_lacks(pytester, stand_in):
    pytester.makefile(".yaml", live=live_config(stand_in.url))
    pytester.makepyfile(test_live=SEND_TEST)
    pytester.runpytest("--murano-config", "live.yaml").assert_outcomes(passed=1)
    stand_in.stop()
    pytester.makepyfile(test_live=SEND_TEST.replace("postMessage", "listMessage").replace(
        'result.response.message["status"] == "queued"', 'result.calls[0]["status"] == 200'))
    pytester.runpytest("--murano-config", "live.yaml").assert_outcomes(failed=1)


def test_case_field_cassette_records_and_replays(pytester, stand_in):
    pytester.makefile(".yaml", live=live_config(stand_in.url))
    pytester.makefile(".murano.yaml", test_live="""
        - name: sends live
          cassette: cassettes/case.yaml
          source: return Twilio.postMessage({To = "+15551234567", From = "+15005550006", Body = "case"})
          expect:
            message_subset: {status: queued, body: case}
    """)
    pytester.runpytest("--murano-config", "live.yaml").assert_outcomes(passed=1)
    assert_scrubbed((pytester.path / "cassettes" / "case.yaml").read_text())
    stand_in.stop()
    pytester.runpytest("--murano-config", "live.yaml").assert_outcomes(passed=1)


def test_local_mode_ignores_cassettes(pytester):
    pytester.makepyfile(test_local=SEND_TEST)
    pytester.runpytest().assert_outcomes(passed=1)
    assert not (pytester.path / "cassettes").exists()


def test_without_vcrpy_cassettes_say_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "vcr", None)  # what an environment without vcrpy looks like to import
    with pytest.raises(UsageError, match="cassettes need vcrpy: pip install vcrpy"):
        with cassette(tmp_path / "x.yaml", []):
            pass
