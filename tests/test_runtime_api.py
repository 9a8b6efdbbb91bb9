"""The Python API: Runtime(config), run, run_file, ScriptResult."""

from __future__ import annotations

import json

import pytest

from murano_sim import ConfigError, Runtime, ScriptResult, UsageError, load_config
from murano_sim.services.twilio.settings import DEMO_AUTH_TOKEN


def test_config_from_path(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("lua:\n  max_instructions: 123\nenv:\n  NAME: from-file\n")
    with Runtime(str(path)) as rt:
        assert rt.config.limits.max_instructions == 123
        assert rt.run("return os.getenv('NAME')").response.message == "from-file"


def test_config_none_reads_cwd_config_yaml(tmp_path, monkeypatch):
    (tmp_path / "config.yaml").write_text("env:\n  WHERE: cwd\n")
    monkeypatch.chdir(tmp_path)
    with Runtime() as rt:
        assert rt.run("return os.getenv('WHERE')").response.message == "cwd"


def test_config_none_without_file_uses_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Runtime() as rt:
        assert rt.config.limits.max_instructions == 65536
        assert rt.config.limits.max_memory == 1048576
        assert rt.config.services["twilio"]["backend"] == "local"


def test_env_substitution_with_default(monkeypatch):
    monkeypatch.setenv("MS_TEST_VALUE", "set")
    env = {"A": "${MS_TEST_VALUE}", "B": "${MS_TEST_UNSET:-fallback}", "C": "x${MS_TEST_UNSET}y"}
    config = load_config({"env": env})
    assert config.env == {"A": "set", "B": "fallback", "C": "xy"}


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("lua: [1, 2", "config.yaml:"),
        ("lua:\n  max_memory: -5\n", "lua.max_memory: must be a positive number"),
        ("lua:\n  max_instructoins: 5\n", "lua.max_instructoins: unknown key"),
        ("services:\n  twilio:\n    backend: cloud\n", "services.twilio.backend"),
        ("- just a list\n", "top level must be a mapping"),
    ],
)
def test_malformed_config_is_one_clear_line(tmp_path, text, fragment):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        Runtime(str(path))
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_run_file_uses_file_name_in_errors(tmp_path, runtime):
    script = tmp_path / "alarm.lua"
    script.write_text("local a = 1\nlocal b = nil\nreturn b.x\n")
    result = runtime.run_file(script)
    assert result.error.startswith("alarm.lua:3:")


def test_run_file_missing_is_a_usage_error(tmp_path, runtime):
    with pytest.raises(UsageError):
        runtime.run_file(tmp_path / "nope.lua")


def test_script_result_shape(runtime):
    result = runtime.run("print('hi') return {x = 1}")
    assert isinstance(result, ScriptResult)
    data = result.to_dict()
    assert data == {
        "response": {"code": 200, "message": {"x": 1}, "headers": {"content-type": "application/json"}},
        "logs": ["hi"],
        "calls": [],
        "error": None,
    }
    json.dumps(data)


def test_repr_never_shows_the_auth_token(runtime):
    assert DEMO_AUTH_TOKEN not in repr(runtime) + repr(runtime.config)
