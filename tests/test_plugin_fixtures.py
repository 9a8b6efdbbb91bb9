"""The `murano` and `twilio` fixtures, used directly (the plugin is loaded here too) and in inner sessions."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from murano_sim.services.twilio.settings import DEMO_AUTH_TOKEN
from murano_sim.testing import ScriptRunner, TwilioControl

pytest_plugins = ["pytester"]

SEND = """
local body = request.body or {}
return Twilio.postMessage({To = "+15551234567", From = "+15005550006", Body = body.text or "hi",
                           StatusCallback = body.callback})
"""


@pytest.fixture
def webhook_server() -> Iterator[tuple[str, list[tuple[str, dict[str, str], str]]]]:
    """A loopback server on port 0 recording (url, form, X-Twilio-Signature) of each POST."""
    received: list[tuple[str, dict[str, str], str]] = []

    @Request.application
    def app(request: Request) -> Response:
        received.append((request.url, request.form.to_dict(), request.headers.get("X-Twilio-Signature", "")))
        return Response("<Response/>", 200, content_type="text/xml")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}/hook", received
    server.shutdown()
    thread.join()


def test_fixtures_are_a_script_runner_and_the_emulator_controls(murano, twilio):
    assert isinstance(murano, ScriptRunner)
    assert isinstance(twilio, TwilioControl)
    assert twilio.emulator is murano.emulator


def test_messages_are_wire_dicts_in_creation_order(murano, twilio):
    for text in ("one", "two", "three"):
        assert murano.run(SEND, {"body": {"text": text}}).ok
    assert [m["body"] for m in twilio.messages] == ["one", "two", "three"]
    assert all(m["sid"].startswith("SM") and m["num_segments"] == "1" for m in twilio.messages)


def test_advance_moves_the_lifecycle_deterministically(murano, twilio):
    murano.run(SEND)
    statuses = []
    for _ in range(3):
        statuses.append(twilio.messages[0]["status"])
        twilio.advance(1)
    statuses.append(twilio.messages[0]["status"])
    assert statuses == ["queued", "sending", "sent", "delivered"]


def test_clock_does_not_move_by_itself(murano, twilio):
    murano.run(SEND)
    before = twilio.clock.now()
    assert murano.run("return 1").ok
    assert twilio.clock.now() == before
    assert twilio.messages[0]["status"] == "queued"


def test_calls_fetch_twiml_and_complete_after_advance(murano, twilio, webhook_server):
    url, received = webhook_server
    script = 'return Twilio.createCall({To = "+15551234567", From = "+15005550006", Url = request.body.url})'
    result = murano.run(script, {"body": {"url": url}})
    assert result.ok, result.error
    assert [c["status"] for c in twilio.calls] == ["queued"]
    twilio.advance(60)
    [call] = twilio.calls
    assert (call["status"], call["duration"]) == ("completed", "5")
    assert [form["CallSid"] for _, form, _ in received] == [call["sid"]]


def test_fail_next_answers_the_next_requests_with_an_error(murano, twilio):
    twilio.fail_next(400, code=21211, count=2)
    first, second, third = (murano.run(SEND).response.message for _ in range(3))
    assert (first["status"], second["status"]) == (400, 400)
    assert third["status"] == "queued"
    assert len(twilio.messages) == 1


@pytest.mark.murano(env={"CALLBACK": "placeholder"})
def test_marker_env_reaches_the_script(murano):
    assert murano.run('return os.getenv("CALLBACK")').response.message == "placeholder"


@pytest.mark.murano(limits={"max_instructions": 1000})
def test_marker_limits_apply(murano):
    assert "instruction limit exceeded" in murano.run("while true do end").error


@pytest.mark.murano(seed={"messages": [{"From": "+15005550006", "To": "+15551234567", "Body": "seeded"}]})
def test_marker_seed_and_reset(murano, twilio):
    assert [m["body"] for m in twilio.messages] == ["seeded"]
    seeded_sid = twilio.messages[0]["sid"]
    murano.run(SEND)
    twilio.fail_next(500)
    assert len(twilio.messages) == 2
    twilio.reset()
    assert [m["sid"] for m in twilio.messages] == [seeded_sid]
    assert murano.run(SEND).response.message["status"] == "queued"  # the fault went with the reset


def test_status_callbacks_are_signed_posts_to_loopback(murano, twilio, webhook_server):
    url, received = webhook_server
    sid = murano.run(SEND, {"body": {"callback": url}}).response.message["sid"]
    twilio.advance(3)
    assert [(form["MessageSid"], form["MessageStatus"]) for _, form, _ in received] == [
        (sid, "sending"), (sid, "sent"), (sid, "delivered")
    ]
    validator = RequestValidator(DEMO_AUTH_TOKEN)
    assert all(validator.validate(hook_url, form, signature) for hook_url, form, signature in received)


def test_receive_message_stores_and_posts_the_inbound_webhook(twilio, webhook_server):
    url, received = webhook_server
    message = twilio.receive_message(to="+15005550006", from_="+15551234567", body="ACK", url=url)
    assert (message["direction"], message["status"], message["body"]) == ("inbound", "received", "ACK")
    assert twilio.messages[-1]["sid"] == message["sid"]
    [(hook_url, form, signature)] = received
    assert (form["From"], form["Body"], form["MessageSid"]) == ("+15551234567", "ACK", message["sid"])
    assert RequestValidator(DEMO_AUTH_TOKEN).validate(hook_url, form, signature)


def test_run_file_reads_relative_to_the_test_file_and_names_errors(pytester):
    pytester.makefile(".lua", broken="local x\nreturn x.y\n")
    pytester.mkdir("sub")
    pytester.makepyfile(**{"sub/test_file": """
        def test_relative(murano):
            result = murano.run_file("../broken.lua")
            assert result.error.startswith("broken.lua:2:")
    """})
    pytester.runpytest("sub").assert_outcomes(passed=1)


def test_each_test_gets_a_fresh_emulator(pytester):
    pytester.makepyfile("""
        SEND = 'return Twilio.postMessage({To = "+15551234567", From = "+15005550006", Body = "x"})'
        def test_a(murano, twilio):
            murano.run(SEND)
            assert len(twilio.messages) == 1
        def test_b(murano, twilio):
            murano.run(SEND)
            murano.run(SEND)
            assert len(twilio.messages) == 2
        def test_c(twilio):
            assert twilio.messages == []
    """)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_murano_config_fixture_can_be_overridden_in_a_conftest(pytester):
    pytester.makefile(".yaml", solution="env:\n  STAGE: conftest\n")
    pytester.makeconftest("""
        import pytest
        from pathlib import Path

        @pytest.fixture
        def murano_config():
            return Path(__file__).parent / "solution.yaml"
    """)
    pytester.makepyfile("""
        import pytest

        def test_from_conftest(murano):
            assert murano.run("return os.getenv('STAGE')").response.message == "conftest"

        @pytest.mark.murano(config={"env": {"EXTRA": "1"}})
        def test_marker_merges_onto_it(murano):
            assert murano.run("return os.getenv('STAGE') .. os.getenv('EXTRA')").response.message == "conftest1"

        @pytest.mark.murano(config="other.yaml")
        def test_marker_path_replaces_it(murano):
            assert murano.run("return os.getenv('STAGE')").response.message == "other"
    """)
    pytester.makefile(".yaml", other="env:\n  STAGE: other\n")
    pytester.runpytest().assert_outcomes(passed=3)


def test_nearest_marker_wins(pytester):
    pytester.makepyfile("""
        import pytest
        pytestmark = pytest.mark.murano(env={"A": "module", "B": "module"})

        @pytest.mark.murano(env={"B": "function"})
        def test_it(murano):
            assert murano.run("return os.getenv('A') .. '/' .. os.getenv('B')").response.message == "module/function"
    """)
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('pytest.mark.murano("config.yaml")', "*@pytest.mark.murano takes keyword arguments only*"),
        ("pytest.mark.murano(enviroment={})", "*@pytest.mark.murano: unknown argument 'enviroment'*"),
        ('pytest.mark.murano(config={"lua": {"max_instructions": -1}})', "*lua.max_instructions: must be a positive*"),
    ],
)
def test_marker_mistakes_are_one_line_errors(pytester, marker, message):
    pytester.makepyfile(f"""
        import pytest

        @{marker}
        def test_it(murano):
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])


def test_twilio_fixture_refuses_live_mode(pytester):
    pytester.makepyfile("""
        import pytest

        LIVE = {"services": {"twilio": {"backend": "live", "base_url": "http://127.0.0.1:9",
                "AccountSid": "AC" + "1" * 32, "AuthToken": "2" * 32}}}

        @pytest.mark.murano(config=LIVE)
        def test_it(twilio):
            pass
    """)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*the twilio fixture needs services.twilio.backend: local*"])
    assert "2" * 32 not in result.stdout.str()
