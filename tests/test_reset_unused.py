"""A reset pays only for the services a solution used: on a state in memory, a service never used stays
unbuilt across resets (issue 21: the toolkit resets its runtime before every test)."""

from __future__ import annotations

from murano_sim.config import yamlfile
from murano_sim.runtime import Runtime
from murano_sim.state import State
from murano_sim.testing.testbed import base_config, open_testbed

GET = 'return Keystore.get({key = "k"})'


def _built(runtime: Runtime) -> set[str]:
    return {alias for alias, service in runtime.services.by_alias.items()
            if getattr(getattr(service, "executor", None), "built", False)}


def test_a_reset_builds_no_service_and_resets_the_used_ones():
    with open_testbed(base_config(None)) as runtime:
        assert runtime.run('Keystore.set({key = "k", value = "v"})').error is None
        assert runtime.run(GET).response.message == {"value": "v"}
        runtime.reset()
        assert _built(runtime) == {"keystore"}  # Tsdb, User, ... were never used: nothing to reset
        assert runtime.services.backends.built_aliases() == []  # the phone service's emulator neither
        assert "twilio" in runtime.services.backends  # asking whether there is one does not build it
        assert runtime.services.backends.built_aliases() == []
        assert runtime.run(GET).response.message == {}
        runtime.reset()
        assert runtime.run('Tsdb.write({metrics = {t = 1}})').error is None
        assert "tsdb" in _built(runtime)


def test_a_state_file_builds_every_service_so_a_reset_empties_its_rows(tmp_path):
    config = base_config(None)
    state = tmp_path / "state.db"
    with Runtime(config, state=State(state)) as runtime:
        assert runtime.run('Keystore.set({key = "k", value = "v"})').error is None
    with Runtime(config, state=State(state)) as runtime:
        assert runtime.run(GET).response.message == {"value": "v"}  # the file keeps it
    with Runtime(config, state=State(state)) as runtime:
        assert {"keystore", "tsdb", "user"} <= _built(runtime)  # restored from the file at start
        runtime.reset()
    with Runtime(config, state=State(state)) as runtime:
        assert runtime.run(GET).response.message == {}


def test_yaml_anchors_are_still_measured_and_plain_documents_load():
    assert yamlfile.parse("a: &x [1, 2]\nb: *x\n", "t.yaml") == {"a": [1, 2], "b": [1, 2]}
    assert yamlfile.parse("a: 'no & anchor here'\n", "t.yaml") == {"a": "no & anchor here"}
    bomb = "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(5))
    try:
        yamlfile.parse(bomb, "bomb.yaml")
    except yamlfile.YamlFileError as exc:
        assert "aliases expand" in str(exc)
    else:
        raise AssertionError("an alias bomb loaded")
