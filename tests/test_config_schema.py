"""config.yaml is strict: every typo, at any level, is one line with file:line and a did-you-mean."""

from __future__ import annotations

import pytest

from murano_sim import ConfigError, load_config
from murano_sim.config import ServiceSettings, check_live_credentials, trust
from murano_sim.config import load_config as bare_load_config

TYPOS = {
    "emulater:\n  seed: {}\n": "c.yaml:1: emulater: unknown key 'emulater' (did you mean 'emulator'?)",
    "lua:\n  max_memory: 2048\n  timeout_second: 3\n":
        "c.yaml:3: lua.timeout_second: unknown key 'timeout_second' (did you mean 'timeout_seconds'?)",
    "services:\n  twillio:\n    AccountSid: x\n":
        "c.yaml:2: services.twillio: unknown service 'twillio' (did you mean 'twilio'?)",
    "services:\n  twilio:\n    backend: local\n    Accountsid: x\n":
        "c.yaml:4: services.twilio.Accountsid: unknown key 'Accountsid' (did you mean 'AccountSid'?)",
    "servics: {}\n": "c.yaml:1: servics: unknown key 'servics' (did you mean 'services'?)",
    "lua:\n  max_instructions: -5\n": "c.yaml:2: lua.max_instructions: must be a positive number, got -5",
    "services:\n  twilio:\n    backend: lcoal\n": "c.yaml:3: services.twilio.backend: must be one of local, live",
    "env:\n  A: [1, 2]\n": "c.yaml:2: env.A: must be text or a number or true or false or empty, got a list",
    "emulator:\n  accounts:\n    - {AccountSid: AC1, AuthToken: t, tset: true}\n":
        "c.yaml:3: emulator.accounts.0.tset: unknown key 'tset' (did you mean 'test'?)",
}


@pytest.mark.parametrize("text", list(TYPOS))
def test_a_typo_is_one_line_with_file_line_and_what_was_meant(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path)) and TYPOS[text] in message, message


def test_the_shipped_config_and_a_stand_in_for_an_unknown_service_are_accepted(tmp_path):
    load_config("config.yaml")
    path = tmp_path / "c.yaml"
    path.write_text("services:\n  weather:\n    standin: {}\n")
    assert load_config(path).services["weather"] == {"standin": {}}


def test_a_dict_config_names_the_key_without_a_line():
    with pytest.raises(ConfigError, match=r"^config dict: lua\.max_memry: unknown key 'max_memry'"):
        load_config({"lua": {"max_memry": 5}})


# -- config/ knows no service: each one is handed in -------------------------------------------------
def _toy(checked: list) -> ServiceSettings:
    """A service of the test's own, with a default, a variable for one key, a section and a check."""
    return ServiceSettings(
        alias="toy",
        schema={"type": "object", "additionalProperties": False,
                "properties": {"token": {"type": "string"}, "level": {"type": "integer"}}},
        defaults={"token": "demo", "level": 1},
        sections={"toyland": {"type": "object", "additionalProperties": False,
                              "properties": {"size": {"type": "integer"}}}},
        section_defaults={"toyland": {"size": 3}},
        env={"token": "TOY_TOKEN"},
        check=lambda section, own, source: checked.append((dict(section), dict(own), source)),
    )


def test_the_bare_loader_knows_only_the_services_handed_in(monkeypatch):
    monkeypatch.delenv("TOY_TOKEN", raising=False)
    assert bare_load_config({}).services == {}  # no service's defaults without the service
    with pytest.raises(ConfigError, match=r"services\.twilio: unknown service 'twilio'"):
        bare_load_config({"services": {"twilio": {"backend": "local"}}})
    checked: list = []
    config = bare_load_config({"services": {"toy": {"level": 2}}}, services=[_toy(checked)])
    assert config.services["toy"] == {"token": "demo", "level": 2}
    assert config.section("toyland") == {"size": 3}
    assert checked == [({"token": "demo", "level": 2}, {"toyland": {"size": 3}}, "config dict")]
    with pytest.raises(ConfigError, match=r"^config dict: toyland: unknown key 'toyland'"):
        bare_load_config({"toyland": {"size": 1}})  # its section is unknown without it


def test_a_services_variable_fills_its_key_only(monkeypatch):
    monkeypatch.setenv("TOY_TOKEN", "from-env")
    config = bare_load_config({}, services=[_toy([])])
    assert config.services["toy"]["token"] == "from-env"
    given = bare_load_config({"services": {"toy": {"token": "given"}}}, services=[_toy([])])
    assert given.services["toy"]["token"] == "given"  # the file's own value wins


def test_an_untrusted_file_reads_a_services_variable_only_in_its_own_key(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TOY_TOKEN", "t0ken")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # no trust record of the developer's
    path = tmp_path / "config.yaml"
    path.write_text('services:\n  toy: {token: "${TOY_TOKEN}"}\nenv: {LEAK: "${TOY_TOKEN}"}\n')
    with trust.consent_scope(trust.Consent()):
        config = bare_load_config(path, services=[_toy([])])
    assert config.services["toy"]["token"] == "t0ken"
    assert config.env["LEAK"] == ""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "${TOY_TOKEN} in env.LEAK" in err and "t0ken" not in err


def test_the_public_loader_hands_in_every_discovered_service():
    config = load_config({})
    assert config.services["twilio"]["backend"] == "local"  # Twilio's defaults come from its plugin
    assert config.section("emulator")["call_duration"] == 5
    assert "twilio" in {service.alias for service in config.known}
    with pytest.raises(ConfigError, match=r"services\.twilio\.AuthToken is malformed"):
        check_live_credentials(load_config({"services": {"twilio": {
            "backend": "live", "AccountSid": "AC" + "1" * 32, "AuthToken": "short"}}}))
