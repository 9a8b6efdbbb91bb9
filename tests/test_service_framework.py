"""The local-service framework: a spec plus a model, over the solution's state and clock, called from Lua."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import wire_service

from murano_sim import ConfigError, Runtime
from murano_sim.services import MURANO_SERVICES, Dispatcher, ModelControl, ServicePlugin
from murano_sim.services.registry import argument_name, core_services, event_sources
from murano_sim.services.spec import load_spec
from murano_sim.state import State
from murano_sim.state.clock import ManualClock

TALLY = load_spec(Path(__file__).parent / "data" / "services" / "tally.yaml")


def tally_runtime(config=None, **kwargs) -> Runtime:
    return Runtime(config or {}, extra_specs=[TALLY], **kwargs)


def test_a_local_service_is_a_global_with_murano_validation_and_a_call_log():
    with tally_runtime() as runtime:
        result = runtime.run("Tally.add{name = 'cups'} return Tally.add{name = 'cups', amount = 3}")
        assert result.error is None, result.error
        assert result.response.message == {"name": "cups", "count": 4, "label": "tally"}
        assert [c["operation"] for c in result.calls] == ["add", "add"]
        assert result.calls[1]["arguments"] == {"name": "cups", "amount": 3} and result.calls[1]["status"] == 200
        bad = runtime.run("return Tally.add{name = 'Cups!'}")
        assert bad.response.message == {
            "error": "Tally.add: name: must be 1 to 10 lower-case letters",
"status": 400, "type": "QueryError", "status_code": 400}
        assert bad.calls[0]["error"] == bad.response.message["error"]


def test_a_refusal_is_murano_error_table_and_no_content_is_the_204_table():
    with tally_runtime() as runtime:
        missing = runtime.run("return Tally.get{name = 'nothing'}").response.message
        assert missing == {"error": "no counter named nothing", "status": 404, "type": "QueryError", "status_code": 404}
        assert runtime.run("return Tally.clear()").response.message == {"status": 204, "status_code": 204}


def test_unknown_arguments_warn_unless_the_operation_takes_any():
    with tally_runtime() as runtime:
        warned = runtime.run("return Tally.get{name = 'x', nmae = 'y'}")
        assert any("unknown argument 'nmae'" in line for line in warned.logs)
        echoed = runtime.run("return Tally.echo{value = {1, 2}, extra = 'kept'}").response.message
        assert echoed == {"value": [1, 2], "extra": "kept"}


def test_june_2016_body_wrapped_arguments_are_unwrapped():
    with tally_runtime() as runtime:
        assert runtime.run("return Tally.add{name = 'a', body = {amount = 5}}").response.message["count"] == 5


def test_configuration_precedence_defaults_then_solution_file_then_config_yaml():
    solution = {"tally": {"step": 2, "label": "from-solution", "unknown_kept": True}}
    with tally_runtime(solution_configs=solution) as runtime:
        assert runtime.run("return Tally.add{name = 'a'}").response.message == {
            "name": "a", "count": 2, "label": "from-solution"}
        assert runtime.platform.parameters("tally")["unknown_kept"] is True
    with tally_runtime({"services": {"tally": {"label": "local"}}}, solution_configs=solution) as runtime:
        assert runtime.run("return Tally.add{name = 'a'}").response.message["label"] == "local"


def test_an_unknown_key_in_config_yaml_is_an_error_with_a_did_you_mean():
    with pytest.raises(ConfigError, match=r"services\.tally\.lable: unknown key 'lable' \(did you mean 'label'\?\)"):
        tally_runtime({"services": {"tally": {"lable": "x"}}})


def test_a_secret_parameter_never_reaches_the_call_log():
    with tally_runtime({"services": {"tally": {"token": "s3cret-value"}}}) as runtime:
        result = runtime.run("return Tally.echo{value = 'my s3cret-value here'}")
        assert "s3cret-value" not in repr(result.calls) and "s3cret-value" not in repr(result.response)


def test_state_survives_a_restart_and_reset_restores_the_seed(tmp_path):
    path = tmp_path / "state.sqlite"
    config = {"services": {"tally": {"seed": {"seeded": 7}}}}
    with tally_runtime(config, state=State(path)) as runtime:
        runtime.run("Tally.add{name = 'kept', amount = 5}")
    with tally_runtime(config, state=State(path)) as runtime:
        assert runtime.run("return Tally.get{name = 'kept'}").response.message == {"count": 5}
        runtime.reset()
        assert runtime.run("return Tally.get{name = 'kept'}").response.message["status"] == 404
        assert runtime.run("return Tally.get{name = 'seeded'}").response.message == {"count": 7}


def test_events_are_kept_until_a_solution_attaches_a_sink():
    with tally_runtime() as runtime:
        runtime.run("Tally.add{name = 'a', amount = 10}")
        reached = {"service": "tally", "event": "reached", "payload": {"name": "a", "count": 10}}
        assert runtime.platform.events == [reached]
        seen = []
        runtime.platform.on_event = lambda alias, event, payload: seen.append((alias, event, payload["count"]))
        runtime.run("Tally.add{name = 'a'}")
        assert seen == [("tally", "reached", 11)]


def test_one_clock_drives_os_time_request_timestamp_and_due_work_in_time_order():
    clock = ManualClock()
    with tally_runtime(clock=clock) as runtime:
        start = int(clock.now().timestamp())
        assert runtime.run("return {os.time(), os.now(), request.timestamp}").response.message == [
            start, start * 1000, start]
        runtime.run("Tally.alarm{seconds = 30} Tally.alarm{seconds = 10}")
        seen = []
        runtime.platform.on_event = lambda alias, event, payload: seen.append(payload)
        runtime.advance(60)
        assert [p["at"] for p in seen] == [p["clock"] for p in seen]  # each ran when the clock stood at it
        assert [p["at"] for p in seen] == [(clock.now() - timedelta(seconds=s)).isoformat() for s in (50, 30)]
        assert runtime.run("return os.time()").response.message == start + 60


def test_a_murano_service_that_is_not_emulated_is_one_clear_error():
    with Runtime({}) as runtime:
        result = runtime.run("return Spms.send{}")
        assert result.error is not None
        assert "Spms.send: the spms service is not emulated by murano-sim; declare a stand-in under services.spms" \
            in result.error


def test_generic_forms_reach_the_same_service():
    with tally_runtime() as runtime:
        result = runtime.run(
            "murano.service_call('tally', 'add', {name = 'a'}) return murano.services.tally.get{name = 'a'}")
        assert result.response.message == {"count": 1}
        assert [c["operation"] for c in result.calls] == ["add", "get"]


def test_a_secret_from_the_solution_config_never_reaches_the_call_log_or_the_logs():
    solution = {"tally": {"token": "solution-secret-42"}}
    with tally_runtime(solution_configs=solution) as runtime:
        runtime.platform.use_solution_configs(solution)  # as a served solution's services/*.yaml arrive
        result = runtime.run("local p = Config.getParameters{service = 'tally'} print(p.parameters.token) return p")
        assert result.response.message["parameters"]["token"] == "solution-secret-42"  # the script may read it
        assert "solution-secret-42" not in repr(result.calls) + repr(result.logs)


# --- one path for every service: plugins, wire backends, controls, the Services mapping ---------------------

QUOTES = ServicePlugin(spec=Path(__file__).parent / "data" / "services" / "quotes.yaml", wire="wire_service:backend")


def test_an_http_plugin_with_backend_local_gets_its_wire_backend_behind_the_transport():
    config = {"services": {"quotes": {"backend": "local", "ApiKey": "k" * 12}}}
    with Runtime(config, plugins=[QUOTES]) as runtime:
        result = runtime.run("return {Quotes.get{symbol = 'ABC'}, Quotes.get{symbol = '42'}.status}")
        assert result.error is None, result.error
        assert result.response.message == [{"symbol": "ABC", "price": 42}, 404]
        backend = runtime.services.backends["quotes"]
        assert backend.paths == ["quotes-local.invalid/v1/quotes/ABC.json", "quotes-local.invalid/v1/quotes/42.json"]
        assert [c["status"] for c in result.calls] == [200, 404]
        control = runtime.services.control("quotes")
        assert control.inspect() == {"requests": backend.paths}
        runtime.reset()
        assert backend.resets == 1 and backend.paths == []
    assert backend.closed


def test_a_backend_can_be_handed_in_and_an_http_plugin_without_wire_refuses_backend_local():
    given = wire_service.QuotesBackend(host=None)  # type: ignore[arg-type]
    config = {"services": {"quotes": {"backend": "local", "ApiKey": "k" * 12}}}
    with Runtime(config, plugins=[QUOTES], backends={"quotes": given}) as runtime:
        runtime.run("Quotes.get{symbol = 'XYZ'}")
        assert runtime.services.backends["quotes"] is given
        assert given.paths == ["quotes-local.invalid/v1/quotes/XYZ.json"]
    bare = ServicePlugin(spec=QUOTES.spec)
    with pytest.raises(ConfigError, match="services.quotes.backend: local: quotes has no local backend"):
        Runtime(config, plugins=[bare])


def test_services_is_a_mapping_and_the_former_names_stay_aliases():
    with tally_runtime() as runtime:
        services = runtime.services
        assert runtime.platform is services and services["tally"] is services.by_alias["tally"]
        assert "tally" in services and "nothing" not in services and len(services) == len(services.by_alias)
        assert services["tally"].host.services is services and services["tally"].host.platform is services
        assert isinstance(services["tally"], Dispatcher) and services["tally"].model.host is services["tally"].host


def test_every_service_has_a_control_and_the_default_one_forwards_to_the_model():
    with tally_runtime({"services": {"tally": {"seed": {"cups": 2}}}}) as runtime:
        controls = runtime.services.controls()
        assert {"keystore", "tsdb", "tally"} <= set(controls)
        assert isinstance(controls["tally"], ModelControl) and controls["tally"] is runtime.services.control("tally")
        runtime.run("Tally.add{name = 'cups'}")
        controls["tally"].reset()  # the model's own reset: back to its seed
        assert runtime.run("return Tally.get{name = 'cups'}").response.message == {"count": 2}
        with pytest.raises(NotImplementedError, match="tally cannot be seeded"):
            controls["tally"].seed({"cups": 1})


def test_alias_lists_are_data_from_the_specs_and_known_yaml():
    assert argument_name("scripts", "anyCustomEvent") == "data"  # scripts' spec: "*": data
    assert argument_name("interface", "subscriberAdded") == "subscription"
    assert argument_name("interface", "myOperation") == "operation event"  # the parameter, then an alias
    assert argument_name("websocket", "websocket_info") == "websocketInfo"
    assert argument_name("webservice", "request") == "request"  # known.yaml: an event-only source
    assert argument_name("device2", "data_in") == "event" and argument_name("product123", "x") == "event"
    assert MURANO_SERVICES["keystore"] == "Keystore" and MURANO_SERVICES["spms"] == "Spms"
    assert "keystore" in core_services() and "content" in core_services() and "twilio" not in core_services()
    assert {"webservice", "mqtt", "keystore", "twilio"} <= event_sources() and "spms" not in event_sources()
