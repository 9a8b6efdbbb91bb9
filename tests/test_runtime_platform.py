"""Murano's platform globals (platform.lua): json, log levels, os.now, the slice marker, mcrypto."""

from __future__ import annotations

import base64
import time

import pytest

from murano_sim import Runtime


@pytest.fixture(scope="module")
def runtime():
    with Runtime({}) as rt:
        yield rt


def value(runtime, source):
    result = runtime.run(source)
    assert result.error is None, result.error
    return result.response.message


def test_json_parse_keeps_null_as_json_null(runtime):
    found = value(runtime, """
        local v, err = json.parse('{"a": null, "b": [1, null], "c": []}')
        return {err = err, a_is_null = json.is_null(v.a), a_type = type(v.a), b2 = json.is_null(v.b[2]),
                back = json.stringify(v)}""")
    assert found == {"a_is_null": True, "a_type": "table", "b2": True, "back": '{"a":null,"b":[1,null],"c":[]}'}


def test_json_parse_reports_bad_json_as_a_second_value(runtime):
    found = value(runtime, "local v, err = json.parse('{') return {v = v == nil, err = err}")
    assert found["v"] is True and found["err"].startswith("json.parse: ")


def test_from_json_still_drops_nulls(runtime):
    assert value(runtime, """return from_json('{"a": null, "b": 1}')""") == {"b": 1}


def test_json_null_is_read_only_and_its_metatable_hidden(runtime):
    assert runtime.run("json.null.x = 1").error == "script.lua:1: json.null is read-only"
    assert value(runtime, "return tostring(getmetatable(json.null))") == "false"


def test_log_levels_prefix_each_line(runtime):
    result = runtime.run('log.debug("d") log.info("i", 2) log.warn({a = 1}) log.error("e", nil) print("p")')
    assert result.logs == ["[debug] d", "[info] i 2", "[warn] map[a:1]", "[error] e <nil>", "p"]


def test_os_now_is_milliseconds_since_the_epoch(runtime):
    before = int(time.time() * 1000)
    now = value(runtime, "return os.now()")
    after = int(time.time() * 1000)
    assert before <= now <= after


def test_slice_marker_makes_a_script_table_a_json_array(runtime):
    found = value(runtime, """
        local s = setmetatable({}, {__type = "slice"})
        return {to_json(s), json.stringify({s, {}}), (getmetatable(s) or {}).__type}""")
    assert found == ["[]", "[[],{}]", "slice"]


def test_staging_mcrypto(runtime):
    found = value(runtime, """
        local mcrypto = require("staging.mcrypto")
        local bytes = mcrypto.rand_bytes(32)
        return {#bytes, bytes ~= mcrypto.rand_bytes(32), mcrypto.b64url_encode("\\255\\254\\253"),
                mcrypto.b64url_decode("__79") == "\\255\\254\\253", require("staging.mcrypto") == mcrypto}""")
    assert found == [32, True, base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode().rstrip("="), True, True]


def test_mcrypto_refuses_a_bad_size(runtime):
    found = value(runtime, 'local v, err = require("staging.mcrypto").rand_bytes(-1) return {v == nil, err}')
    assert found[0] is True and "rand_bytes" in found[1]


def test_require_accepts_names_with_or_without_the_modules_prefix(runtime):
    modules = {"c2c.utils": ("modules/c2c/utils.lua", "return {n = 1}")}
    result = runtime.run('return {require("c2c.utils").n, require("modules.c2c.utils").n}', modules=modules)
    assert result.response.message == [1, 1]


def test_a_missing_module_error_points_at_the_script(runtime):
    assert runtime.run('\nrequire("nope")').error == "script.lua:2: module 'nope' not found"


def test_globals_argument_sets_per_execution_values(runtime):
    result = runtime.run("return context.service", globals={"context": {"service": "timer"}})
    assert result.response.message == "timer"


def test_mcrypto_is_also_a_global_as_exosite_templates_use_it(runtime):
    result = runtime.run(
        "local token = mcrypto.b64url_encode(mcrypto.rand_bytes(20))"
        " return {#token, mcrypto == require('staging.mcrypto'), token:find('[+/=]') == nil}")
    assert result.error is None, result.error
    assert result.response.message == [27, True, True]
