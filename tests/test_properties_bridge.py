"""Property tests: the Lua<->JSON bridge, the timed pattern matcher, and Twilio argument validation."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from murano_sim import Runtime
from murano_sim.lua.engine import lupa_lua

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# JSON values without empty objects (Lua has one empty table: `{}` and `[]` cannot both survive)
# and without floats that JSON cannot write.
keys = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8)
leaves = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) \
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, min_size=1, max_size=5) | st.dictionaries(keys, inner, min_size=1, max_size=5),
    max_leaves=25,
)


def expected_round_trip(value):
    """What JSON -> Lua -> JSON gives: null members vanish (nil), arrays with nulls are not arrays."""
    if isinstance(value, dict):
        return {k: expected_round_trip(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if any(v is None for v in value):
            return None  # Lua's holes: not compared
        return [expected_round_trip(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


@pytest.fixture(scope="module")
def rt():
    with Runtime({"lua": {"max_instructions": 10**8, "max_memory": 16 << 20}}) as runtime:
        yield runtime


@SETTINGS
@given(value=json_values)
def test_from_json_then_to_json_keeps_the_value(rt, value):
    expected = expected_round_trip(value)
    text = json.dumps(value)
    result = rt.run("local v, err = from_json(request.body) if err then return {err = err} end"
                    " return {json = to_json({v})}", {"body": text, "headers": {"content-type": "text/plain"}})
    assert result.error is None and result.internal_error is None, result.error
    out = result.response.message
    if expected is None or (isinstance(expected, dict) and not expected) or _has_holes(value):
        return  # nulls inside arrays or an object of nulls: Lua has no way to keep them
    assert "json" in out, out
    assert json.loads(out["json"]) == [expected]


def _has_holes(value) -> bool:
    if isinstance(value, list):
        return any(v is None or _has_holes(v) for v in value)
    if isinstance(value, dict):
        return any(_has_holes(v) for v in value.values()) or (value and all(v is None for v in value.values()))
    return False


# -- the timed matcher answers exactly as LuaJIT's own ----------------------------------------
@pytest.fixture(scope="module")
def matchers():
    lua = lupa_lua.LuaRuntime(register_eval=False, encoding=None)
    source = resources.files("murano_sim.lua").joinpath("patterns.lua").read_bytes()
    load = lua.eval("function(code) return loadstring(code, '=patterns.lua') end")
    natives = lua.eval("{byte = string.byte, sub = string.sub, char = string.char, concat = table.concat,"
                       " find = string.find, tostring = tostring, unpack = unpack}")
    port = load(source)(natives, lua.eval("function() end"))
    compare = lua.eval("""
    function(port, s, p, init)
      local function pack(...) return {n = select("#", ...), ...} end
      local function show(ok, r)
        if not ok then
          local e = port.pattern_error(r[1]) or tostring(r[1])
          return "error: " .. e:gsub("^[^:]*:%d+: ", "")
        end
        local parts = {}
        for i = 1, r.n do parts[i] = tostring(r[i]) end
        return table.concat(parts, ",")
      end
      local function call(f, ...)
        local r = pack(pcall(f, ...))
        return show(r[1], {n = r.n - 1, select(2, unpack(r, 1, r.n))})
      end
      local function iterate(gm)
        local out = {}
        for a, b in gm do
          out[#out + 1] = tostring(a) .. "/" .. tostring(b)
          if #out > 50 then break end
        end
        return table.concat(out, ";")
      end
      local function safe_iterate(gm)
        local ok, r = pcall(iterate, gm)
        if ok then return r end
        return "error: " .. (port.pattern_error(r) or tostring(r)):gsub("^[^:]*:%d+: ", "")
      end
      return {
        -- a pattern without specials is a plain find: the sandbox never sends it to the port
        call(string.find, s, p, init),
        port.shape_of(p).special and call(port.find_aux, s, p, init, true) or call(string.find, s, p, init),
        call(string.match, s, p, init), call(port.find_aux, s, p, init, false),
        call(string.gsub, s, p, "<%0>"), call(port.gsub, s, p, "<%0>", #s + 1),
        safe_iterate(string.gmatch(s, p)), safe_iterate(port.gmatch(s, p)),
      }
    end""")
    return port, compare


tokens = st.sampled_from(["a", "b", ".", "%a", "%s", "[ab]", "[^a]", "[a-]", "*", "+", "-", "?", "(", ")", "()",
                          "%1", "%b()", "%f[a]", "%f[%s]", "^", "$", " ", "%", "[", "]", "%z"])
patterns = st.lists(tokens, max_size=7).map("".join)
subjects = st.text(st.sampled_from("ab() "), max_size=10)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(s=subjects, p=patterns, init=st.integers(-12, 12))
def test_the_timed_matcher_answers_like_the_native_one(matchers, s, p, init):
    port, compare = matchers
    results = list(compare(port, s.encode(), p.encode(), init).values())
    for native, ours in zip(results[0::2], results[1::2], strict=True):
        assert ours == native, (s, p, init)


# -- Twilio argument validation never raises -------------------------------------------------
arg_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20) | st.sampled_from(["+15005550006", "+15005550001", "http://127.0.0.1:1/x", "GET"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
arguments = st.dictionaries(
    st.sampled_from(["To", "From", "Body", "MediaUrl", "Url", "MaxPrice", "ValidityPeriod", "StatusCallback",
                     "MessagingServiceSid", "Timeout", "Record", "SendDigits", "PageSize", "x"]),
    arg_values, max_size=6,
)


@SETTINGS
@given(operation=st.sampled_from(["postMessage", "createCall", "listMessage", "getMessage"]), args=arguments)
def test_twilio_validation_answers_a_result_or_an_error_table(rt, operation, args):
    result = rt.run(f"local r = Twilio.{operation}(request.body) return {{kind = type(r)}}",
                    {"body": json.dumps(args), "headers": {"content-type": "application/json"}} if args else None)
    assert result.error is None and result.internal_error is None, result.error
    assert result.response.message == {"kind": "table"}
