"""The Email service from Lua: the outbox, the daily quota, real SMTP to a local aiosmtpd server
on loopback (headers, envelope, parts), refused hosts, and the SMTP password kept secret."""

from __future__ import annotations

import email
import json
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from murano_sim import Runtime
from murano_sim.cli import main
from murano_sim.state import State
from murano_sim.state.clock import ManualClock

SMTP_PASSWORD = "smtp-s3cret-passw0rd"


class Recorder:
    """An SMTP server's handler that keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append(envelope)
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=_free_port(), authenticator=_authenticate,
                            auth_require_tls=False, ready_timeout=10)
    controller.start()
    recorder.port = controller.port
    try:
        yield recorder
    finally:
        controller.stop()


def runtime(config=None, **kwargs) -> Runtime:
    return Runtime(config or {}, clock=kwargs.pop("clock", None) or ManualClock(), **kwargs)


def test_send_goes_to_the_outbox_with_to_as_a_string_or_a_list():
    with runtime() as rt:
        result = rt.run("""
            local a = Email.send{to = "ann@example.com", subject = "Signup", text = "Click here",
                                 from = "Sample App <mail@exosite.com>"}
            local b = Email.send{to = {"bob@example.com", "cy@example.com"}, cc = "dee@example.com",
                                 bcc = {"eve@example.com"}, subject = "Hello", html = "<b>hi</b>"}
            return {a = a, b = b}
        """)
        assert result.response.message == {"a": {"status": 204, "status_code": 204},
                                           "b": {"status": 204, "status_code": 204}}
        first, second = rt.services["email"].model.outbox()
        assert first["to"] == ["ann@example.com"] and first["subject"] == "Signup" and first["text"] == "Click here"
        # Without a custom server Murano sends from its relay; the requested sender is kept for tests.
        assert first["from"] == "mailrelay@exosite.com" and first["requested_from"] == "Sample App <mail@exosite.com>"
        assert second["to"] == ["bob@example.com", "cy@example.com"] and second["cc"] == ["dee@example.com"]
        assert second["bcc"] == ["eve@example.com"] and second["html"] == "<b>hi</b>" and second["smtp"] is None


def test_the_june_2016_email_wrapper_is_accepted():
    with runtime() as rt:
        rt.run('Email.send{email = {to = "ann@example.com", subject = "old form", text = "x"}}')
        assert rt.services["email"].model.outbox()[0]["subject"] == "old form"


def test_bad_arguments_are_400_tables():
    with runtime() as rt:
        result = rt.run("""
            return {
              no_to = Email.send{subject = "x", text = "y"},
              long = Email.send{to = "a@b.c", subject = string.rep("s", 999), text = "y"},
              injected = Email.send{to = "a@b.c", subject = "x\\r\\nBcc: victim@example.com", text = "y"},
              not_address = Email.send{to = {"nobody"}, text = "y"},
              scheme = Email.send{to = "a@b.c", text = "y", connection = {server = "127.0.0.1", scheme = "pop3"}},
            }
        """).response.message
        assert {k: v["status"] for k, v in result.items()} == dict.fromkeys(result, 400)
        assert "998" in result["long"]["error"] and "one line" in result["injected"]["error"]
        assert rt.services["email"].model.outbox() == []
        assert rt.run('return Email.send{to = "a@b.c", subject = string.rep("s", 998)}').response.message[
            "status"] == 204


def test_get_settings_reports_the_daily_quota_counted_on_the_solution_clock_day():
    clock = ManualClock()
    with runtime({"services": {"email": {"daily_quota": 2}}}, clock=clock) as rt:
        send = 'return Email.send{to = "a@b.c", text = "x"}'
        assert rt.run("return Email.getSettings()").response.message == {"quota": {"daily": 2}, "usage": {"daily": 0}}
        rt.run(send)
        rt.run(send)
        over = rt.run(send).response.message
        assert over["status"] == 429 and "quota" in over["error"]
        assert rt.run("return Email.getSettings()").response.message["usage"] == {"daily": 2}
        rt.advance(86400)
        assert rt.run("return Email.getSettings()").response.message["usage"] == {"daily": 0}
        assert rt.run(send).response.message["status"] == 204


def test_with_a_connection_the_message_really_reaches_a_loopback_smtp_server(smtp):
    with runtime() as rt:
        result = rt.run(f"""
            return Email.send{{
              from = "Sample App <app@example.com>", to = {{"ann@example.com", "bob@example.com"}},
              cc = "cy@example.com", bcc = "hidden@example.com", subject = "Grüße", text = "plain body",
              html = "<p>html body</p>",
              connection = {{server = "127.0.0.1", port = {smtp.port}, user = "app", password = "{SMTP_PASSWORD}"}},
            }}
        """)
        assert result.response.message == {"status": 204, "status_code": 204}, result.response.message
        (envelope,) = smtp.envelopes
        assert envelope.mail_from == "app@example.com"
        assert sorted(envelope.rcpt_tos) == ["ann@example.com", "bob@example.com", "cy@example.com",
                                             "hidden@example.com"]
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        assert message["From"] == "Sample App <app@example.com>" and message["Subject"] == "Grüße"
        assert message["To"] == "ann@example.com, bob@example.com" and message["Cc"] == "cy@example.com"
        assert message["Bcc"] is None  # bcc only in the envelope
        assert message.get_body(("plain",)).get_content().strip() == "plain body"
        assert message.get_body(("html",)).get_content().strip() == "<p>html body</p>"
        sent = rt.services["email"].model.outbox()[0]
        assert sent["smtp"] == f"smtp://127.0.0.1:{smtp.port}"
        log = json.dumps(result.to_dict())
        assert SMTP_PASSWORD not in log and "[REDACTED]" in log
        assert SMTP_PASSWORD not in json.dumps(sent)


def test_the_configured_connection_is_used_and_its_password_never_shown(smtp, tmp_path):
    path = tmp_path / "state.sqlite"
    config = {"services": {"email": {"connection_server": "127.0.0.1", "connection_port": smtp.port,
                                     "connection_user": "app@example.com", "connection_password": SMTP_PASSWORD}}}
    with runtime(config, state=State(path)) as rt:
        result = rt.run('return {Email.send{to = "ann@example.com", subject = "s", text = "t"}, Email.getSettings()}')
        assert result.response.message == [{"status": 204, "status_code": 204}, {"usage": {"daily": 1}}]
        assert smtp.envelopes[0].mail_from == "app@example.com"
        config["services"]["email"]["connection_port"] = _free_port()  # nobody listens there
    with runtime(config, state=State(path)) as rt:
        refused = rt.run('return Email.send{to = "ann@example.com", text = "t"}')
        assert refused.response.message["status"] == 502 and "SMTP" in refused.response.message["error"]
        assert SMTP_PASSWORD not in json.dumps(refused.to_dict())
    assert SMTP_PASSWORD.encode() not in b"".join(p.read_bytes() for p in tmp_path.iterdir())


def test_a_host_that_is_not_loopback_is_refused_before_any_connection(monkeypatch):
    attempts = []
    real = socket.create_connection
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: attempts.append(a) or real(*a, **k))
    with runtime() as rt:
        result = rt.run("""
            return Email.send{to = "a@b.c", text = "x",
                              connection = {server = "smtp.example.com", port = 587, password = "pw-123456"}}
        """).response.message
        assert result["status"] == 403 and "services.email.allow_hosts" in result["error"]
        sneaky = rt.run("""
            return Email.send{to = "a@b.c", text = "x", connection = {server = "evil.com/@127.0.0.1"}}
        """).response.message
        assert sneaky["status"] == 400
    assert attempts == []


def test_a_closed_loopback_port_is_a_502_table():
    with runtime() as rt:
        result = rt.run(f"""
            return Email.send{{to = "a@b.c", text = "x", connection = {{server = "localhost", port = {_free_port()}}}}}
        """).response.message
        assert result["status"] == 502 and "failed" in result["error"]
        assert rt.services["email"].model.outbox() == []


def test_outbox_and_users_fixtures(murano, users, outbox):
    ann = users.create("ann@example.com", "pw-ann", roles={"owner": {"infoUserId": 1}})
    token = users.login("ann@example.com", "pw-ann")
    result = murano.run(f"""
        local me = User.getCurrentUser{{token = "{token}"}}
        Email.send{{to = me.email, subject = "Welcome " .. me.name, text = "hi"}}
        return User.hasUserRoleParam{{id = me.id, role_id = "owner", parameter_name = "infoUserId",
                                      parameter_value = 1}}
    """)
    assert result.response.message == "OK"
    assert ann["status"] == 1 and users.roles(ann["id"]) == [
        {"role_id": "owner", "parameters": [{"name": "infoUserId", "value": 1}]}]
    assert len(outbox) == 1 and outbox.last["subject"] == "Welcome ann@example.com"
    assert outbox.to("ANN@example.com") == [outbox.last]
    pending = users.create("bob@example.com", "pw-bob", activate=False)
    assert pending["status"] == 0 and pending["activation_code"]


def test_the_cli_lists_the_outbox_of_a_state_file(tmp_path, capsys):
    path = tmp_path / "state.sqlite"
    with runtime(state=State(path)) as rt:
        rt.run('Email.send{to = {"ann@example.com"}, subject = "Signup", text = "x"}')
    assert main(["outbox", "--state", str(path)]) == 0
    assert "mailrelay@exosite.com -> ann@example.com: Signup" in capsys.readouterr().out
    assert main(["outbox", "--state", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["subject"] == "Signup"
    assert main(["outbox", "--state", str(tmp_path / "missing.sqlite")]) == 2
    assert "no such state file" in capsys.readouterr().err
