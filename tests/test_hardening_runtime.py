"""Hostile scripts against the Lua runtime: each ends in a clean error, the host survives, the next run is clean.

Scripts that crashed or froze the process before run in a child process (a crash there fails
the test instead of killing pytest); the C-recursion ones also run inside a threading.Thread,
as `serve` runs scripts. Timeouts are hang guards only.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading

import pytest
from engines import luajit_only

from murano_sim import Runtime
from murano_sim.lua.vm import C_DEPTH_MAX

# Scripts here must end at the time limit, so the instruction budget must be out of reach in
# 2 s: the hooked interpreter counts ~5e8 instructions a second on one free core (1e9 took
# 1.8-2.3 s here), so 1e9 raced the time limit. See docs/sandbox.md, "Which limit ends a busy loop".
LIMITS = {"lua": {"max_instructions": 10**12, "timeout_seconds": 2}}
TIME = "time limit exceeded (lua.timeout_seconds = 2)"
MEMORY = "memory limit exceeded (lua.max_memory = 1048576 bytes)"
# For tests of the memory budget: on a loaded machine a 2 s time limit could end the run first.
ROOMY = {"lua": {"max_instructions": 10**9, "timeout_seconds": 120}}
LUA51_GARBAGE = "Lua 5.1 builds strings through temporary buffers, garbage the budget counts until collected"
C_OVERFLOW = f"C stack overflow (calls through C functions nested deeper than {C_DEPTH_MAX})"

CHILD = """
import json, sys, threading
from murano_sim import Runtime
source, threaded = sys.argv[1], sys.argv[2] == "1"
out = {}
def work():
    with Runtime(json.loads(sys.argv[3])) as rt:
        r = rt.run(source)
        after = rt.run("local t = {} for i = 1, 100 do t[i] = i end return #t")
        out["r"] = {"error": r.error, "message": r.response.message if r.error is None else None,
                    "after": after.response.message, "after_error": after.error}
if threaded:
    t = threading.Thread(target=work)
    t.start()
    t.join()
else:
    work()
print(json.dumps(out["r"]))
"""


def run_isolated(source: str, *, threaded: bool = False, config: dict | None = None) -> dict:
    """Run in a child process; the child must exit cleanly and the next run there must be clean."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, source, "1" if threaded else "0", json.dumps(config or LIMITS)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, f"child died ({done.returncode}): {done.stderr[-2000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["after"] == 100 and result["after_error"] is None
    return result


@pytest.fixture(scope="module")
def hostile():
    with Runtime(LIMITS) as rt:
        yield rt


def clean_after(rt: Runtime) -> None:
    after = rt.run("local t = {} for i = 1, 100 do t[i] = i end return #t")
    assert after.error is None and after.response.message == 100
    assert after.internal_error is None


# -- 1. C boundaries ------------------------------------------------------------------------
C_RECURSION = {
    "gsub callback": 'local function f() string.gsub("a", "a", f) end f()',
    "gsub table replacement with __index": (
        'local t t = setmetatable({}, {__index = function() return ("a"):gsub("a", t) end})'
        ' return ("a"):gsub("a", t)'
    ),
    "sort comparator": "local function f() table.sort({2, 1, 3}, function(a, b) f() return a < b end) end f()",
    "sort through __lt": (
        "local mt = {} mt.__lt = function(a, b)"
        " table.sort({setmetatable({}, mt), setmetatable({}, mt)}) return true end"
        " table.sort({setmetatable({}, mt), setmetatable({}, mt)})"
    ),
    "tostring and __tostring": (
        "local t t = setmetatable({}, {__tostring = function() return tostring(t) end}) return tostring(t)"
    ),
    "string.format %s and __tostring": (
        'local t t = setmetatable({}, {__tostring = function() return string.format("%s", t) end}) return tostring(t)'
    ),
    "coroutine.wrap": "local function f() return coroutine.wrap(f)() end return f()",
    "coroutine.wrap under pcall": "local function f() return coroutine.wrap(f)() end return pcall(f)",
    "coroutine.resume": (
        "local function f() local ok, err = coroutine.resume(coroutine.create(f))"
        " if not ok then error(err, 0) end end f()"
    ),
    "os.time reading __index": (
        "local t t = setmetatable({}, {__index = function() return os.time(t) end}) return os.time(t)"
    ),
    "error object __tostring calling tostring": (
        "local t t = setmetatable({}, {__tostring = function() return tostring(t) end}) error(t)"
    ),
}


@pytest.mark.parametrize("name", list(C_RECURSION))
@pytest.mark.parametrize("threaded", [False, True], ids=["main-thread", "worker-thread"])
def test_recursion_through_c_ends_in_a_clean_error(name, threaded):
    result = run_isolated(C_RECURSION[name], threaded=threaded)
    if result["error"] is None:  # a pcall'd recursion returns false and the message
        assert result["message"] is False or C_OVERFLOW in json.dumps(result["message"])
    elif name == "error object __tostring calling tostring":  # describing the error failed: said so
        assert result["error"] == "script.lua:1: error object is a table value"
    else:
        assert C_OVERFLOW in result["error"] or "stack overflow" in result["error"]


@pytest.mark.parametrize(
    "source",
    [
        "local function f() return pcall(f) end return f()",
        "local function f() return xpcall(f, function(e) return e end) end return f()",
        "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x",
        "local t = setmetatable({}, {__concat = function(a, b) return a .. b end}) return t .. 'x'",
        "local mt = {} mt.__eq = function(a, b) return a == b end"
        " return setmetatable({}, mt) == setmetatable({}, mt)",
        "local mt = {} mt.__lt = function(a, b) return a < b end return setmetatable({}, mt) < setmetatable({}, mt)",
        "local t = setmetatable({}, {__call = function(self) return self() end}) return t()",
        "local function h(e) error(e) end return xpcall(error, h)",
    ],
    ids=["pcall", "xpcall", "__index", "__concat", "__eq", "__lt", "__call", "erroring handler"],
)
def test_recursion_through_the_vm_ends_in_a_clean_error(source):
    # These recurse on the Lua stack (LuaJIT's VM calls metamethods without C recursion); the
    # child survived and its next run was clean (run_isolated checks both).
    result = run_isolated(source)
    assert result["error"] is not None or result["message"] is not None


def test_the_depth_limit_leaves_room_for_ordinary_nesting(hostile):
    source = """
    local function nest(n) if n == 0 then return "x" end return (("a"):gsub("a", function() return nest(n - 1) end)) end
    return nest(30)
    """
    assert hostile.run(source).response.message == "x"


def test_a_caught_depth_error_leaves_the_counter_right(hostile):
    source = """
    local function f() string.gsub("a", "a", f) end
    for i = 1, 5 do assert(not pcall(f)) end
    local function nest(n) if n == 0 then return "x" end return (("a"):gsub("a", function() return nest(n - 1) end)) end
    return nest(50)
    """
    assert hostile.run(source).response.message == "x"


# -- coroutines -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source, expected",
    [
        ("local co = coroutine.create(function() while true do end end) return coroutine.resume(co)", TIME),
        ("local f = coroutine.wrap(function() while true do end end) return pcall(f)", TIME),
        ("local co = coroutine.wrap(function() local t = {} for i = 1, 1e8 do t[i] = {i} end end) return pcall(co)",
         MEMORY),
        ("return coroutine.resume(coroutine.create(function() return pcall(string.rep, 'x', 1e9) end))", MEMORY),
        ("local co = coroutine.wrap(function() while true do coroutine.yield(1) end end)"
         " while true do pcall(co) end", TIME),
    ],
    ids=["busy coroutine", "busy wrap under pcall", "memory in coroutine", "rep bomb in coroutine", "yield loop"],
)
def test_limits_hold_inside_coroutines_and_cannot_be_caught(hostile, source, expected):
    assert hostile.run(source).error == expected
    clean_after(hostile)


def test_instruction_limit_holds_inside_a_coroutine():
    with Runtime({}) as rt:
        result = rt.run("local co = coroutine.wrap(function() while true do end end) return pcall(co)")
        assert result.error == "instruction limit exceeded (lua.max_instructions = 65536)"


def test_coroutines_still_work_for_ordinary_scripts(hostile):
    source = """
    local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
    local co = coroutine.create(function(a) local b = coroutine.yield(a * 2) error("done " .. b, 0) end)
    local _, first = coroutine.resume(co, 21)
    local ok, err = coroutine.resume(co, "x")
    return {gen(), gen(), gen(), first, ok, err, coroutine.status(co)}
    """
    assert hostile.run(source).response.message == [1, 2, 3, 42, False, "done x", "dead"]


# -- 2. host functions within budget --------------------------------------------------------
@pytest.mark.parametrize(
    "source",
    [
        'local s = string.rep("x", 200000) return to_json({s, s, s, s, s, s})',
        'local s = string.rep("x", 200000) return pcall(to_json, {s, s, s, s, s, s})',
        'local s = "[" .. string.rep("1,", 150000) .. "1]" return #from_json(s)',
        "local a = {1} for i = 1, 21 do a = {a, a} end return to_json(a)",
        "local a = {1} for i = 1, 21 do a = {a, a} end print(a)",
        "local a = {1} for i = 1, 21 do a = {a, a} end return a",
        'local s = string.rep("x", 300000) print(s, s, s, s)',
    ],
    ids=["to_json of repeated string", "same under pcall", "from_json of a large array", "to_json shared tables",
         "print shared tables", "returned shared tables", "print of repeated string"],
)
def test_conversions_stop_at_the_memory_budget(source):
    result = run_isolated(source, config=ROOMY)
    assert result["error"] is not None and "memory limit exceeded (lua.max_memory = 1048576 bytes)" in result["error"]


def test_shared_tables_as_a_service_argument_stop_at_the_budget():
    source = "local a = {1} for i = 1, 21 do a = {a, a} end return Twilio.postMessage({To = a, From = a, Body = a})"
    with Runtime(ROOMY) as rt:
        assert rt.run(source).error == MEMORY
        clean_after(rt)


def test_conversions_of_ordinary_values_still_work(hostile):
    source = """
    local t = from_json('{"a":[1,2,{"b":null}],"c":"d","e":[]}')
    return {to_json(t), #to_json({string.rep("y", 100000)})}
    """
    assert hostile.run(source).response.message == ['{"a":[1,2,{}],"c":"d","e":[]}', 100004]


# -- 3. pattern matching under the time limit -----------------------------------------------
@pytest.mark.parametrize(
    "source",
    [
        'return string.rep("a", 500):find(".-.-.-b")',
        'return string.rep("a", 3000):match("^(a*)*b")',
        'return string.rep("a", 2000):gsub("a-a-a-b", "x")',
        'for w in string.rep("a", 2000):gmatch("a*a*a*b") do end',
        pytest.param('return select("#", string.rep("ab", 3000):find("(.-)(.-)(.-)%1%2%3c"))',
                     marks=luajit_only(LUA51_GARBAGE + ": this one reaches the memory limit before the time limit")),
        'local s = string.rep("a", 300000) return s:find(string.rep("a", 100000) .. "b", 1, true)',
    ],
    ids=["find .-.-.-b", "match", "gsub", "gmatch", "back-references", "long plain needle"],
)
def test_pattern_matching_ends_at_the_time_limit(hostile, source):
    result = hostile.run(source)
    assert result.error in (TIME, None)  # the long plain needle is linear now: it finishes
    clean_after(hostile)


@pytest.mark.parametrize(
    "source, expected",
    [
        ('local s = string.rep("x", 3000) .. "  hello  " return s:match("^x*%s*(.-)%s*$")', "hello"),
        ('local r, n = string.rep("ab", 2000):gsub("a-(b)", "%1") return {#r, n, r:sub(1, 3)}', [2000, 2000, "bbb"]),
        ('local r = string.rep("ab", 2000):gsub("(a-)(b)", function(a, b) return b .. a end) return r:sub(1, 4)',
         "baba"),
        ('local t = {} for k, v in string.rep("k=v;", 1000):gmatch("(%w+)=(%w*);") do t[#t + 1] = k .. v end'
         " return {#t, t[1]}", [1000, "kv"]),
        ('local s = string.rep("-", 4000) .. "[x]" return {s:find("%[(.-)%]()")}', [4001, 4003, "x", 4004]),
        ('local s = string.rep("-", 4000) .. "f(a(b)c)d" return s:match("%b()")', "(a(b)c)"),
        ('local s = string.rep(" ", 4000) .. "THE fox" return s:match("(%f[%a]%a+).-()$")', "THE"),
    ],
    ids=["trim", "gsub with captures", "gsub callback", "gmatch", "find with captures", "balance", "frontier"],
)
def test_costly_patterns_take_the_timed_matcher_and_answer_like_lua(hostile, source, expected):
    result = hostile.run(source)
    assert result.error is None, result.error
    assert result.response.message == expected


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("(", "unfinished capture"),
        ("%", "malformed pattern (ends with '%')"),
        ("[a", "malformed pattern (missing ']')"),
        ("%b", "unbalanced pattern"),
        ("%1", "invalid capture index"),
        ("a)", "invalid pattern capture"),
        ("%fx", "missing '[' after '%f' in pattern"),
    ],
)
def test_malformed_patterns_give_the_same_error_on_both_paths(hostile, pattern, message):
    for subject in ("aaa", "a" * 5000):
        source = f"return ({subject!r}):match({('.-' * 3 + pattern)!r})"
        result = hostile.run(source)
        assert result.error is not None and result.error.endswith(message), (subject[:5], result.error)


def test_sort_of_a_large_array_runs_under_the_hook():
    with Runtime({"lua": {"max_instructions": 10**9, "max_memory": 64 << 20, "timeout_seconds": 10}}) as rt:
        result = rt.run("local t = {} for i = 1, 20000 do t[i] = (i * 7919) % 20011 end table.sort(t)"
                        " for i = 2, #t do assert(t[i - 1] <= t[i]) end return #t")
        assert result.response.message == 20000


# -- 4. no host object reaches Lua ----------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        'from_json("123456789012345678901234567890")',
        'from_json("1e999")',
        'from_json(string.rep("[", 5000) .. string.rep("]", 5000))',
        'from_json("[1,")',
        "from_json(nil)",
        "from_json({})",
        "to_json(function() end)",
        "to_json(setmetatable({}, {__index = function() error('x') end}))",
        "to_json({[{}] = 1})",
        "to_json(0/0)",
        "to_json('\\255')",
        "bench.measure(nil)",
        "print(setmetatable({}, {__tostring = function() error('no') end}))",
        "Twilio.postMessage(function() end)",
        "Twilio.postMessage(coroutine.create(print))",
    ],
)
def test_host_functions_never_hand_python_objects_to_lua(hostile, call):
    source = f"local r = {{pcall(function() return {call} end)}} local out = {{}}" \
             " for i = 1, 3 do out[i] = type(r[i]) end return out"
    result = hostile.run(source)
    assert result.error is None, result.error
    assert not {"userdata", "function", "thread"} & set(result.response.message)
    assert result.internal_error is None


def test_from_json_of_a_wide_integer_is_a_float(hostile):
    assert hostile.run('return from_json("123456789012345678901234567890") > 1e29').response.message is True


def test_from_json_of_a_too_deep_value_is_nil_and_a_message(hostile):
    result = hostile.run('return {from_json(string.rep("[", 5000) .. string.rep("]", 5000))}')
    assert result.response.message == {"2": "from_json: value is nested deeper than 100 levels"} or \
        "from_json:" in json.dumps(result.response.message)


# -- 5. defects surface ---------------------------------------------------------------------
class Exploding:
    """A host service whose call fails as our own defects would."""

    alias = "Boom"
    global_names = ("Boom",)
    operations = ("defect", "interrupt", "exit")

    def call(self, operation, arguments, *, deadline=None):
        if operation == "interrupt":
            raise KeyboardInterrupt
        if operation == "exit":
            raise SystemExit(3)
        raise ZeroDivisionError("our bug")


@pytest.fixture
def exploding():
    with Runtime({}, host_services=[Exploding()]) as rt:
        yield rt


def test_a_defect_in_a_host_function_is_logged_and_recorded(exploding, caplog):
    with caplog.at_level(logging.ERROR, logger="murano_sim"):
        result = exploding.run("local ok, err = pcall(Boom.defect, {}) return {ok, err}")
    assert result.response.message == [False, "service call: murano-sim internal error (see the log)"]
    assert "ZeroDivisionError: our bug" in result.internal_error
    assert any("ZeroDivisionError" in r.getMessage() for r in caplog.records)
    assert exploding.run("return 1").internal_error is None


@pytest.mark.parametrize("operation, raised", [("interrupt", KeyboardInterrupt), ("exit", SystemExit)])
def test_interrupts_in_a_host_function_reach_the_caller(exploding, operation, raised):
    with pytest.raises(raised):
        exploding.run(f"while true do pcall(Boom.{operation}, {{}}) end")
    assert exploding.run("return 1").response.message == 1


# -- other hostile scripts ------------------------------------------------------------------
@pytest.mark.parametrize(
    "source, expected",
    [
        ("local ok = pcall(string.rep, 'x', 1e8) return 'survived'", MEMORY),
        ("local s = 'x' while true do local ok = pcall(function() s = s .. s end) end", MEMORY),
        ("return load(string.dump and string.dump(print) or '\\27LJ')", None),
        ("error(setmetatable({}, {__index = function() while true do end end}))", None),
        ("error(setmetatable({}, {__tostring = function() return {} end}))", None),
        ("local r = setmetatable({}, {__index = function() error('no') end}) return r", None),
        ("local ok, e = pcall(error, setmetatable({}, {__tostring = function() while true do end end}))"
         " return tostring(e)", TIME),
    ],
    ids=["rep bomb under pcall", "concat bomb under pcall", "binary chunk", "hostile error __index",
         "__tostring returning a table", "result with hostile __index", "hostile __tostring under pcall"],
)
def test_other_hostile_scripts(hostile, source, expected):
    result = hostile.run(source)
    if expected is not None:
        assert result.error == expected
    assert result.internal_error is None
    clean_after(hostile)


def test_the_host_survives_a_c_recursion_in_a_worker_thread_in_process():
    # In-process, in a thread (as serve runs scripts): the limit is what keeps us alive.
    out = {}

    def work():
        with Runtime(LIMITS) as rt:
            out["error"] = rt.run('local function f() string.gsub("a", "a", f) end f()').error

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert C_OVERFLOW in out["error"]


def test_the_pytest_plugin_fails_the_test_on_an_internal_error(exploding):
    from murano_sim.testing.defects import fail_on_internal_error

    result = exploding.run("pcall(Boom.defect, {}) return 1")
    with pytest.raises(pytest.fail.Exception, match="ZeroDivisionError: our bug"):
        fail_on_internal_error(result)
    assert fail_on_internal_error(exploding.run("return 1")).response.message == 1


@luajit_only(LUA51_GARBAGE + ": 90 KB through the matcher passes 1 MiB (docs/sandbox.md, Lua 5.1)")
def test_our_matcher_costs_the_script_no_instructions_as_a_c_function_would_not():
    # Trimming and squeezing a 90 KB body takes the Lua port of the matcher (its worst case is
    # large), but Murano counts a C call as one instruction: the 64k budget must not be spent there.
    source = """
    local s = "  " .. string.rep("x y", 30000) .. "  "
    local trimmed = s:match("^%s*(.-)%s*$")
    local squeezed, spaces = s:gsub("%s+", "_")
    return {#trimmed, #squeezed, spaces, s:find("y%s*$")}
    """
    with Runtime({}) as runtime:
        result = runtime.run(source)
    assert result.error is None, result.error
    assert result.response.message == [90000, 90002, 30002, 90002, 90004]  # find: the last "y" and its end


def test_a_gsub_callback_is_the_script_own_code_and_counts():
    with Runtime({}) as runtime:
        result = runtime.run('local s = string.rep("a", 200000) return (s:gsub("a", function(c) return c end))')
    assert result.error == "instruction limit exceeded (lua.max_instructions = 65536)"
