"""config.yaml is strict: every typo, at any level, is one line with file:line and a did-you-mean."""

from __future__ import annotations

import pytest

from murano_sim import ConfigError, load_config

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
