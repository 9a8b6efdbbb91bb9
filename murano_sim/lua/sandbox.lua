-- The sandbox: run once per Lua runtime, with the full standard library still in reach.
-- It captures what it needs as upvalues, hides the rest, and returns `run`, which executes
-- one script in a fresh whitelisted environment under the instruction and time limits.
-- Scripts never see this file's locals: without `debug` no upvalue is reachable.

local host, service_specs, missing_services = ...

-- Everything the sandbox needs, captured before any script can touch a shared table.
local type, pairs, ipairs, next, select, tostring, error, pcall, xpcall, setmetatable, rawget, rawset =
  type, pairs, ipairs, next, select, tostring, error, pcall, xpcall, setmetatable, rawget, rawset
local loadstring, setfenv, getfenv, unpack = loadstring or load, setfenv, getfenv, unpack or table.unpack
local string_byte, string_format, table_concat = string.byte, string.format, table.concat
local debug_sethook, debug_getinfo, debug_getregistry = debug.sethook, debug.getinfo, debug.getregistry
local debug_gethook = debug.gethook
local math_randomseed = math.randomseed
local now, memory_limit = host.now, host.memory_limit
local coroutine_create, coroutine_resume, coroutine_yield, coroutine_status, coroutine_running =
  coroutine.create, coroutine.resume, coroutine.yield, coroutine.status, coroutine.running
local coroutine_isyieldable = coroutine.isyieldable
local native_tostring, string_sub, string_find, string_gsub = tostring, string.sub, string.find, string.gsub
local string_match, string_gmatch, native_format, table_sort, tonumber = string.match, string.gmatch, string.format,
  table.sort, tonumber
local math_floor, math_ceil, math_min, math_max = math.floor, math.ceil, math.min, math.max
-- Reseeding every run from a secret base means no script can fix or predict the next one's numbers.
local seed_base, runs = host.random_seed(), 0
-- platform.lua's installer (Murano's json, log, os.now and platform modules on each fresh env)
-- is host.install_platform: set after this file loads, because platform.lua's host functions
-- are wrapped by this file's host_function.

-- Lua 5.1's xpcall passes no arguments to f (LuaJIT's does, as 5.2): close over them there.
local xpcall_args = xpcall
if not jit then
  xpcall_args = function(f, handler, ...)
    local n, args = select("#", ...), { ... }
    return xpcall(function() return f(unpack(args, 1, n)) end, handler)
  end
end

-- Compiled loops never call the count hook, so the JIT must stay off for limits to hold.
if jit then
  jit.off()
  jit.flush()
end

-- Lock the metatables every script shares: strings, and lupa's wrapper of Python objects.
local string_mt = getmetatable("")
string_mt.__metatable = false
local registry = debug_getregistry()
for key, value in pairs(registry) do
  if type(key) == "string" and type(value) == "table" and key:find("^PO") then
    value.__metatable = false
  end
end

local MEMORY_ERROR = "not enough memory"

-- LuaJIT builds every new string (string.rep, .., table.concat, format, gsub, upper...) in one
-- scratch buffer of the VM's, then copies it into the string: building a 512 KiB string takes
-- 1 MiB for a moment. The scratch is the VM's, not the script's: it is kept at least
-- `limits.scratch` bytes large outside the run's budget, so a string costs the script only the
-- string itself; scratch beyond that is the script's, and a string.rep bomb still fails.
-- Each GC cycle halves the buffer (lj_gc.c's atomic phase, which also clears weak tables): a
-- weak-keyed sentinel tells us one has run. Regrowing it copies `scratch_pad` through it; the
-- copy is interned, so it finds scratch_pad itself and allocates no new string.
local string_rep = string.rep
local scratch_pad = ""
local gc_sentinel = setmetatable({}, { __mode = "k" })

-- Garbage counts until collected, and LuaJIT starts a cycle when the heap doubles (pause 200%).
-- The reserved scratch (and scratch_pad) would double that wait, and a script's garbage would
-- reach its budget first: the pause is set so that the reserve is not counted, and the collector
-- runs as often as it would without it. The threshold is set when a cycle ends, from what
-- survived it (the reserve then: scratch_pad, and the scratch halved).
local collectgarbage, paced = collectgarbage, false

local function pace_gc(scratch)
  local total = collectgarbage("count") * 1024  -- at a run's start: the reserve is 2 * scratch
  local rest = math_max(total - 2 * scratch, 1)
  collectgarbage("setpause", math_max(110, math_min(200, math_floor(100 * (2 * rest + 2 * scratch)
    / (rest + 1.5 * scratch)))))
  if not paced then  -- the pause applies from the next cycle on: set this one's threshold now
    paced = true
    collectgarbage("restart", -1)
  end
end

local function reserve_scratch(size)
  if #scratch_pad ~= size then
    scratch_pad = ""
    scratch_pad = string_rep("x", size)
  elseif next(gc_sentinel) == nil then
    string_rep(scratch_pad, 1)
  else
    return
  end
  gc_sentinel[{}] = true
end

-- An empty table is ambiguous: JSON `[]` and `{}` both become one. Empty arrays that come
-- from JSON or a service result carry this (locked) marker, so they go back out as `[]`.
local EMPTY_ARRAY = { __metatable = false }
local debug_getmetatable = debug.getmetatable
local function mark_empty_array(t)
  return setmetatable(t, EMPTY_ARRAY)
end
local build_pending  -- a service table not built yet is built when the host reads it (below)
local function is_empty_array(t)
  if build_pending(t) then return "built" end  -- the host reads it again
  return debug_getmetatable(t) == EMPTY_ARRAY
end

-- Per-run limit state. `tripped` holds the limit message once a limit is hit: from then on
-- every hook tick and every pcall/xpcall/resume return re-raises it, so no script can swallow it.
local state = { ticks = 0, max_ticks = 0, deadline = 0, tripped = nil, instruction_msg = "", timeout_msg = "",
  memory_msg = "", where = nil, step = 1000, memory_watch = math.huge }
-- `uncounted` > 0 while our own matcher stands in for a C function (Murano counts a C call as
-- one instruction); `credit` is the instructions our wrappers spent, given back to the script.
local uncounted, credit = 0, 0
-- > 0 while a host function runs (the host has lifted the memory limit; Lua it calls back into
-- must leave the limit alone).
local in_host = 0

-- The script's file:line that was running when a limit tripped (the first frame not ours).
local function running_line()
  for level = 3, 12 do
    local info = debug_getinfo(level, "Sl")
    if not info then return nil end
    if info.currentline and info.currentline > 0 and info.source ~= "=sandbox.lua" and info.source ~= "=patterns.lua" then
      return info.short_src .. ":" .. info.currentline
    end
  end
  return nil
end

local function trip(message)
  if not state.tripped then state.tripped_at = running_line() end
  state.tripped = message
  error(message, 0)
end

-- Coverage's tables (see compile_file below).
local coverage_hits = setmetatable({}, { __mode = "k" })  -- proxy -> hits
-- hits -> env -> proxy, weak both ways: a proxy refers to its env, and LuaJIT's weak tables are
-- no ephemerons; the chunk's functions keep their proxy alive.
local coverage_proxies = setmetatable({}, { __mode = "k" })

local function on_tick()
  if state.tripped then
    error(state.tripped, 0)
  end
  -- LuaJIT calls no error handler on out-of-memory, so a memory-limit error can name only a line
  -- noted before it: the script's line at a tick once the heap is past half the budget, again at
  -- each further 1/64 (a table that doubles can jump over a narrower window between two ticks; a
  -- getinfo per tick would double a tight loop's time, and its garbage would count against the
  -- script: at most 32 notes here; a heap count costs next to nothing).
  local used = collectgarbage("count")
  if used > state.memory_watch then
    state.memory_watch = used + state.memory_grain
    local info = debug_getinfo(2, "Sl")
    if info and info.source ~= "=sandbox.lua" and info.source ~= "=patterns.lua" then state.tick_info = info end
  end
  if uncounted == 0 then
    if credit >= state.step then
      credit = credit - state.step
    else
      local ticks = state.ticks + 1
      state.ticks = ticks
      if ticks > state.max_ticks then
        trip(state.instruction_msg)
      end
    end
  end
  if now() > state.deadline then
    trip(state.timeout_msg)
  end
  if in_host == 0 and next(gc_sentinel) == nil then
    -- A GC cycle halved the scratch buffer mid-run: grow it back outside the budget. The
    -- memory it gave back was never the script's to keep.
    memory_limit(false)
    reserve_scratch(state.scratch)
    if memory_limit(true) then trip(state.memory_msg) end
  end
  if state.snippet_deadline and now() > state.snippet_deadline then
    error("Scripts.sandbox: the snippet ran past its timeout", 0)  -- the snippet's own limit only
  end
end

-- The hook while coverage is on: a line event counts the line of a covered chunk (see
-- compile_file), a count event is on_tick's, unchanged.
local function on_line_or_tick(event, line)
  if event == "line" then
    local hits = coverage_hits[getfenv(2)]
    if hits then
      local n = hits[line]
      if n then hits[line] = n + 1 end
    end
    return
  end
  return on_tick()
end

local function check_deadline()
  if now() > state.deadline then trip(state.timeout_msg) end
end

-- pcall and xpcall as scripts see them: a limit error always propagates.
local function after_protected(ok, ...)
  if state.tripped then
    error(state.tripped, 0)
  end
  if not ok and (...) == MEMORY_ERROR then
    trip(state.memory_msg)
  end
  return ok, ...
end

local function safe_pcall(f, ...)
  return after_protected(pcall(f, ...))
end

local function safe_xpcall(f, handler, ...)
  local function guarded_handler(err)
    if state.tripped or err == MEMORY_ERROR then
      return err
    end
    return handler(err)
  end
  return after_protected(xpcall_args(f, guarded_handler, ...))
end

-- C boundaries. A C function that calls back into Lua (a gsub callback, a sort comparator,
-- __tostring through tostring, a coroutine resume) nests on the host's C stack, which LuaJIT
-- does not bound: deep enough, the process dies. Every such call passes through here and is
-- counted; past C_DEPTH_MAX it is a clean error. The depth is measured (scripts/bench,
-- docs/sandbox.md) to stay far below the C stack of the main thread and of worker threads.
local C_DEPTH_MAX = host.c_depth_max
local C_OVERFLOW = "C stack overflow (calls through C functions nested deeper than " .. C_DEPTH_MAX .. ")"
local c_depth = 0

-- Where the script called from: "file:line: " (level counts from the caller of this helper).
local function script_where(level)
  local info = debug_getinfo(level + 2, "Sl")
  if info and info.currentline and info.currentline > 0 and info.source ~= "=sandbox.lua" then
    return info.short_src .. ":" .. info.currentline .. ": "
  end
  return ""
end

-- An argument error of a wrapped C function names it as the script called it.
local function c_failed(name, err)
  if type(err) == "string" and not state.tripped then
    local bare = string_gsub(err, "^sandbox%.lua:%d+: ", "", 1)
    if bare ~= err or string_find(bare, "^bad argument #%d+ to '%?'") then
      bare = string_gsub(bare, "^(bad argument #%d+ to )'%?'", "%1'" .. name .. "'", 1)
      err = script_where(2) .. bare
    end
  end
  error(err, 0)
end

local function through_c(name, fn)
  local function leave(ok, ...)
    c_depth = c_depth - 1
    if not ok then c_failed(name, (...)) end
    return ...
  end
  return function(...)
    if c_depth >= C_DEPTH_MAX then
      error(C_OVERFLOW, 2)
    end
    c_depth = c_depth + 1
    credit = credit + 8
    return leave(pcall(fn, ...))
  end
end

-- Coroutines. A resume nests on the C stack like any C call into Lua; a limit error raised
-- inside a coroutine ends its resume and is raised again in the resumer.
local function after_resume(depth, ok, ...)
  c_depth = depth
  return after_protected(ok, ...)
end

local function safe_resume(co, ...)
  if c_depth >= C_DEPTH_MAX then
    return false, C_OVERFLOW
  end
  local depth = c_depth
  c_depth = depth + 1
  if not jit and type(co) == "thread" then
    -- Lua 5.1's hooks are per coroutine (LuaJIT's is VM-wide): the coroutine gets the resumer's
    -- (the limits' count hook, or coverage's), so a busy coroutine stops as it does on LuaJIT.
    debug_sethook(co, debug_gethook())
  end
  return after_resume(depth, coroutine_resume(co, ...))
end

local function after_wrapped(ok, ...)
  if not ok then error((...), 0) end
  return ...
end

local function safe_wrap(f)
  local co = coroutine_create(f)
  return function(...)
    return after_wrapped(safe_resume(co, ...))
  end
end

-- Host (Python) functions. Python lifts the memory limit while it runs and answers with a
-- status first: a limit reached in Python becomes a limit error here, in Lua, because a Lua
-- error must never unwind through Python frames. (Python's short calls back into Lua, which
-- mark empty arrays, run under lupa's own protection: a limit tripped there is raised here.)
local HOST_OK, HOST_MEMORY, HOST_TIME, HOST_ABORT = 0, 1, 2, 3

local function host_failed(status, over, message)
  if state.tripped then error(state.tripped, 0) end
  if over or status == HOST_MEMORY then trip(state.memory_msg) end
  if status == HOST_TIME then trip(state.timeout_msg) end
  if status == HOST_ABORT then trip("execution aborted by the host") end
  error(message, 0)  -- our defect, logged by the host: the script sees one line
end

local function host_done(status, ...)
  in_host = in_host - 1
  local over = memory_limit(true)
  if status ~= HOST_OK or over or state.tripped then
    host_failed(status, over, ...)
  end
  return ...
end

local function host_function(fn)
  return function(...)
    in_host = in_host + 1
    return host_done(fn(...))
  end
end

local log, encode_json, decode_json = host_function(host.log), host_function(host.to_json), host_function(host.from_json)
local call_service, format_duration = host_function(host.call_service), host_function(host.format_duration)
local clock = host_function(host.clock)

-- Text-only chunk loading into a given environment (never bytecode, never the real globals).
local function compile(source, name, env)
  if type(source) ~= "string" then
    return nil, "chunk must be a string"
  end
  if string_byte(source, 1) == 27 then
    return nil, "attempt to load a binary chunk (only text chunks are allowed)"
  end
  local chunk, err = loadstring(source, name)
  if not chunk then
    -- Plain Lua 5.1 (MURANO_SIM_LUA=lua51, macOS) has no goto: say why, not just "syntax error".
    if not jit and (string_find(source, "::", 1, true) or string_match(source, "%f[%w_]goto%f[^%w_]")) then
      err = err .. " (goto and ::labels:: need LuaJIT, as on Murano; this is plain Lua 5.1)"
    end
    return nil, err
  end
  setfenv(chunk, env)
  return chunk
end

-- Line coverage (pytest --murano-cov, docs/coverage.md). Off, `state.coverage` is nil and none
-- of this runs. On, the host hands each run a table chunk name -> hits (executable line -> count,
-- every key present, so counting allocates nothing within the script's memory budget). A covered
-- chunk runs in a proxy of its environment (reads and writes go through to it), so the line
-- hook tells the chunk, and every function it defines, by getfenv(2), which allocates nothing,
-- where debug.getinfo would build a table per line. Scripts cannot reach debug, getfenv or this.

local function coverage_proxy(env, hits)
  local by_env = coverage_proxies[hits]
  if by_env == nil then
    by_env = setmetatable({}, { __mode = "kv" })
    coverage_proxies[hits] = by_env
  end
  local proxy = by_env[env]
  if proxy == nil then
    proxy = setmetatable({}, { __index = env, __newindex = env, __metatable = false })
    by_env[env] = proxy
    coverage_hits[proxy] = hits
  end
  return proxy
end

-- compile for the solution's own files (never a script's load): covered when coverage is on.
local function compile_file(source, name, env)
  local chunk, err = compile(source, name, env)
  local hits = chunk and state.coverage and state.coverage[name]
  if hits then setfenv(chunk, coverage_proxy(env, hits)) end
  return chunk, err
end

-- A script's compiled main chunk, kept for the next run of the same script (name and source):
-- loadstring was a tenth of a trivial run. A kept chunk is pointed at each run's environment
-- with setfenv, so one that is running (a nested run of the same script) is never handed out:
-- that run compiles its own. Functions the chunk defined keep the environment they were made in
-- (LuaJIT copies it when it makes a closure), and no script can reach the chunk itself.
-- Not under coverage (its proxies), nor for modules and prelude chunks.
local kept_chunks, kept_count, running_chunks = {}, 0, {}
local KEEP_MAX, KEEP_SOURCE_MAX = 32, 65536  -- at most 2 MiB of kept source
local parked_env = setmetatable({}, { __metatable = false, __newindex = function() end })

local function compile_main(source, name, env)
  if state.coverage or type(source) ~= "string" or #source > KEEP_SOURCE_MAX then
    return compile_file(source, name, env)
  end
  local by_source = kept_chunks[name]
  local chunk = by_source and by_source[source]
  if chunk ~= nil and not running_chunks[chunk] then
    setfenv(chunk, env)
    return chunk
  end
  local compiled, err = compile(source, name, env)
  if compiled and chunk == nil then
    if kept_count >= KEEP_MAX then kept_chunks, kept_count = {}, 0 end
    by_source = kept_chunks[name]
    if by_source == nil then
      by_source = {}
      kept_chunks[name] = by_source
    end
    by_source[source] = compiled
    kept_count = kept_count + 1
  end
  return compiled, err
end

local function make_load(env)
  return function(chunk, name, mode, chunk_env)
    if type(chunk) == "function" then
      local parts, n = {}, 0
      while true do
        local piece = chunk()
        if piece == nil or piece == "" then break end
        if type(piece) ~= "string" then return nil, "reader function must return a string" end
        n = n + 1
        parts[n] = piece
      end
      chunk = table_concat(parts)
    end
    if mode ~= nil and mode ~= "t" and mode ~= "bt" then
      return nil, "only text chunks are allowed"
    end
    return compile(chunk, name or "=(load)", chunk_env or env)
  end
end

-- Pattern matching under the time limit (see patterns.lua): a call whose worst case is small
-- runs natively; any other runs in our Lua port of the matcher, where the hook still fires.
local NATIVE_STEPS = 1e7  -- worst-case matcher steps a native call may take (~70 ms measured)
local work = 0  -- native worst-case steps since the last deadline check

local patterns = loadstring(host.patterns_source, "=patterns.lua")(
  { byte = string_byte, sub = string_sub, char = string.char, concat = table_concat, find = string_find,
    tostring = native_tostring, unpack = unpack },
  function(on) uncounted = uncounted + (on and -1 or 1) end)
local shape_of, pattern_cost, find_plain = patterns.shape_of, patterns.cost, host_function(host.find_plain)

local function charge(steps)
  work = work + steps
  if work > NATIVE_STEPS then
    work = 0
    check_deadline()
  end
end

local function pattern_done(saved, ok, ...)
  uncounted = saved
  if not ok then
    local err = (...)
    if state.tripped then error(state.tripped, 0) end
    local message = patterns.pattern_error(err)
    if message then error(script_where(1) .. message, 0) end
    error(err, 0)
  end
  return ...
end

-- Our matcher stands in for a C function: all of its work, the driver loops included, is
-- uncounted (only the deadline is checked); a gsub callback is the script's and counts again.
local function uncounted_call(f, ...)
  local saved = uncounted
  uncounted = uncounted + 1
  return pattern_done(saved, pcall(f, ...))
end

-- An integer argument as LuaJIT's lj_lib_optint reads it, or nil when it would raise.
local function integer_arg(value, default)
  if value == nil then return default end
  value = tonumber(value)
  if value == nil then return nil end
  return value >= 0 and math_floor(value) or math_ceil(value)
end

local function normalize_init(init, n)
  if init < 0 then init = init + n else init = init - 1 end
  if init < 0 then init = 0 end
  if init > n then init = n end
  return init
end

local function safe_find(s, p, init, plain)
  local start = integer_arg(init, 1)
  if type(s) ~= "string" or type(p) ~= "string" or start == nil then
    return string_find(s, p, init, plain)  -- raises the native argument error, or works on a short number
  end
  credit = credit + 16
  local n, shape = #s, shape_of(p)
  if plain or not shape.special then
    local steps = (n + 1) * (#p + 1)
    if steps <= NATIVE_STEPS then
      charge(steps)
      return string_find(s, p, init, plain)
    end
    return find_plain(s, p, normalize_init(start, n))  -- a long needle: linear time in Python
  end
  local steps = pattern_cost(shape, n, shape.anchored and 1 or n + 1)
  if steps <= NATIVE_STEPS then
    charge(steps)
    return string_find(s, p, init, plain)
  end
  return uncounted_call(patterns.find_aux, s, p, start, true)
end

local function safe_match(s, p, init)
  local start = integer_arg(init, 1)
  if type(s) ~= "string" or type(p) ~= "string" or start == nil then
    return string_match(s, p, init)
  end
  credit = credit + 14
  local shape = shape_of(p)
  local steps = pattern_cost(shape, #s, shape.anchored and 1 or #s + 1)
  if steps <= NATIVE_STEPS then
    charge(steps)
    return string_match(s, p, init)
  end
  return uncounted_call(patterns.find_aux, s, p, start, false)
end

local function safe_gmatch(s, p)
  if type(s) ~= "string" or type(p) ~= "string" then
    return string_gmatch(s, p)
  end
  local steps = pattern_cost(shape_of(p), #s, #s + 1)
  if steps <= NATIVE_STEPS then
    charge(steps)
    return string_gmatch(s, p)
  end
  local iterate = patterns.gmatch(s, p)
  return function()
    return uncounted_call(iterate)
  end
end

local counted_gsub = through_c("gsub", string_gsub)
local REPLACEMENT = { string = true, number = true, ["function"] = true, table = true }

local function safe_gsub(s, p, replacement, max_n)
  local kind = type(replacement)
  local limit = integer_arg(max_n, type(s) == "string" and #s + 1 or 0)
  if type(s) ~= "string" or type(p) ~= "string" or not REPLACEMENT[kind] or limit == nil then
    return counted_gsub(s, p, replacement, max_n)
  end
  credit = credit + 16
  local shape = shape_of(p)
  local steps = pattern_cost(shape, #s, shape.anchored and 1 or #s + 1)
  if steps <= NATIVE_STEPS then
    charge(steps)
    if kind == "string" or kind == "number" then
      return string_gsub(s, p, replacement, max_n)
    end
    return counted_gsub(s, p, replacement, max_n)
  end
  return uncounted_call(patterns.gsub, s, p, replacement, limit)
end

local counted_format = through_c("format", native_format)
local function safe_format(format, ...)
  for i = 1, select("#", ...) do
    if type((select(i, ...))) == "table" then
      return counted_format(format, ...)  -- a table argument may bring __tostring
    end
  end
  return native_format(format, ...)
end

local counted_tostring = through_c("tostring", native_tostring)
local function safe_tostring(...)
  if type((...)) == "table" then
    return counted_tostring(...)
  end
  return native_tostring(...)
end

-- Lua 5.1's format takes only strings and numbers for %s; LuaJIT's (Murano's) calls tostring, so
-- string.format("%s", nil) is "nil" there. On Lua 5.1 the %s arguments go through tostring first.
local function format_as_luajit(format, ...)
  local n = select("#", ...)
  if jit or type(format) ~= "string" or n == 0 then return safe_format(format, ...) end
  local args, i = { ... }, 0
  for conversion in string_gmatch(format, "%%[-+ #0]*%d*%.?%d*(.?)") do
    if conversion ~= "%" then
      i = i + 1
      local kind = type(args[i])
      if conversion == "s" and i <= n and kind ~= "string" and kind ~= "number" then
        args[i] = safe_tostring(args[i])
      end
    end
  end
  return safe_format(format, unpack(args, 1, n))
end

-- table.sort runs in C; with a Lua comparator the hook fires between comparisons, so a large
-- array gets one (same order as the native comparison: quicksort's worst case stays timed).
local counted_sort = through_c("sort", table_sort)
local function less_than(a, b)
  return a < b
end
local function safe_sort(t, comparator)
  if comparator == nil and type(t) == "table" and #t > 4096 then
    comparator = less_than
  end
  return counted_sort(t, comparator)
end

local counted_os_time = through_c("time", os.time)
local native_os_time = os.time
local function safe_os_time(...)
  if type((...)) == "table" then
    return counted_os_time(...)  -- os.time reads the table's fields: __index can run
  end
  return native_os_time(...)
end

-- print: every value is rendered by the host (Murano-style) into the run's bounded log.
local function script_print(...)
  log(select("#", ...), ...)
end

local function to_json(value)
  return encode_json(value)
end

local function from_json(text)
  return decode_json(text)
end

local function measure(fn, ...)
  local started = now()
  local results = { n = select("#", ...) }
  local function collect(...)
    results.n = select("#", ...)
    for i = 1, results.n do results[i] = (select(i, ...)) end
  end
  collect(fn(...))
  local elapsed = now() - started
  results.n = results.n + 1
  results[results.n] = format_duration(elapsed)
  return unpack(results, 1, results.n)
end

-- Nested executions (Scripts.trigger sync, Interface operations, Lua stand-ins): the service answers with
-- which of the solution's handler functions to call, and the call happens here, in Lua, inside
-- the caller's execution: same environment, same deadline, instruction and memory budgets.
local current_env = nil
-- Each environment's json.null (platform.lua makes one per environment): a null inside an array of a
-- service result becomes the calling environment's, so `v == json.null` holds (weak: envs come and go).
local env_nulls = setmetatable({}, { __mode = "k" })

local function nested_results(nested, ok, ...)
  rawset(current_env, "context", nested.saved_context)
  if not ok then
    local message = (...)
    if type(message) ~= "string" then message = "handler failed with a " .. type(message) .. " value" end
    return { error = message, status = 500, type = "ServerError" }
  end
  if nested.returns == "result" then return nested.result end
  return ...
end

-- Scripts.sandbox: a snippet in a bare environment (no services, no print, no require).
local run_snippet  -- defined once the pristine library copies exist (below)
-- A stand-in service written in Lua: its file's functions, loaded once per caller environment.
local run_standin  -- defined once new_env exists (below)

local function run_nested(nested, missing)
  if nested.returns == "sandbox" then
    return run_snippet(nested)
  end
  if nested.returns == "standin" then
    return run_standin(nested, missing)
  end
  local env = current_env
  local handler = env and rawget(env, nested["function"])
  if type(handler) ~= "function" then
    return missing
  end
  nested.saved_context = rawget(env, "context")
  rawset(env, "context", nested.context)
  return nested_results(nested, safe_pcall(handler, nested.argument))
end

-- Service tables: one Lua closure per operation, shared by all runs (closures are immutable),
-- copied into a fresh table per run so a script that edits `Twilio` only edits its own copy.
local service_functions = {}
for _, spec in ipairs(service_specs) do
  local functions = {}
  for _, operation in ipairs(spec.operations) do
    local alias = spec.alias
    functions[operation] = function(arguments)
      local result, nested = call_service(alias, operation, arguments, current_env and env_nulls[current_env])
      if state.tripped then
        error(state.tripped, 0)
      end
      if nested ~= nil then
        return run_nested(nested, result)
      end
      return result
    end
  end
  service_functions[#service_functions + 1] = { alias = spec.alias, names = spec.names, functions = functions,
    size = #spec.operations }
end

-- An operation a service's spec lacks: a function that asks the dispatcher anyway (its answer is the error).
local function unknown_operation(alias, emulated)
  return function(_, operation)
    -- an emulated operation the script set to nil stays nil (its own copy, its own change)
    if type(operation) ~= "string" or emulated[operation] ~= nil then return nil end
    return function(arguments)
      local result = call_service(alias, operation, arguments, current_env and env_nulls[current_env])
      if state.tripped then
        error(state.tripped, 0)
      end
      return result
    end
  end
end

-- A Murano service murano-sim does not emulate: any operation is one clear error naming it.
local function not_emulated_metatable(name, alias)
  return { __index = function(_, operation)
    return function()
      error(string_format("%s.%s: the %s service is not emulated by murano-sim; declare a stand-in under "
        .. "services.%s in config.yaml", name, tostring(operation), alias, alias), 2)
    end
  end, __metatable = false }
end

local function not_emulated(name, alias)
  return setmetatable({}, not_emulated_metatable(name, alias))
end

-- Pre-sized tables: growing a fresh table key by key rehashes it several times per run.
local has_table_new, table_new = pcall(require, "table.new")
if not has_table_new then
  table_new = function() return {} end
end

local function count(source)
  local n = 0
  for _ in pairs(source) do n = n + 1 end
  return n
end

local function copy(source, size)
  local out = table_new(0, size or count(source))
  for k, v in pairs(source) do out[k] = v end
  return out
end

-- A function that returns a fresh copy of `source` (string keys only, fixed from now on) with a
-- free slot for each name in `slots`: a generated table constructor, which LuaJIT builds from
-- a template with every key already in place (one allocation, no rehash). It is about ten times
-- faster than copying pair by pair, and each run gets many copies (docs/benchmarks.md).
local function copier(source, slots)
  local parts, values, n = { "local v = ... return function() return {" }, {}, 0
  for key, value in pairs(source) do
    n = n + 1
    values[n] = value
    parts[#parts + 1] = string_format("[%q] = v[%d],", key, n)
  end
  for _, key in ipairs(slots or {}) do
    if source[key] == nil then parts[#parts + 1] = string_format("[%q] = nil,", key) end
  end
  parts[#parts + 1] = "} end"
  return loadstring(table_concat(parts), "=sandbox.lua")(values)
end

-- A run's service tables are built when first touched: most scripts use one or two of the
-- fourteen, and building all of them was half of each run's environment (docs/sandbox.md).
-- Until then a service's table is empty, under a metatable shared by every run that builds it
-- on the first read or write through it; the functions that see a table's raw contents or its
-- metatable (next, pairs, rawget, rawset, getmetatable, setmetatable, table.foreach, and the
-- host's conversions through is_empty_array) build it first, so no script can tell.
local pending_service = {}  -- a pending metatable -> its service

local function build(t, service)
  local lift = current_env ~= nil and in_host == 0  -- in a run: the table is the sandbox's, not the script's
  if lift then memory_limit(false) end
  setmetatable(t, { __index = service.unknown })
  for name, fn in pairs(service.functions) do rawset(t, name, fn) end
  if lift and memory_limit(true) then trip(state.memory_msg) end
end

function build_pending(t)
  local service = pending_service[debug_getmetatable(t)]
  if service == nil then return false end
  build(t, service)
  return true
end

for _, service in ipairs(service_functions) do
  service.unknown = unknown_operation(service.alias, service.functions)
  local pending = {
    __index = function(t, key) build(t, service) return t[key] end,
    __newindex = function(t, key, value) build(t, service) t[key] = value end,
  }
  pending_service[pending] = service
  service.pending = pending
end

-- A function that sees raw contents: a pending service table given to it is built first (a
-- tail call with the caller's arguments, so its errors read as the function's own).
local function building(native)
  return function(...)
    build_pending((...))
    return native(...)
  end
end

local pristine = {
  string = copy(string),
  table = copy(table),
  math = copy(math),
}
pristine.string.dump = nil
pristine.string.find, pristine.string.match, pristine.string.gmatch, pristine.string.gsub =
  safe_find, safe_match, safe_gmatch, safe_gsub
pristine.string.format = format_as_luajit
pristine.table.sort = safe_sort
pristine.table.foreach = pristine.table.foreach and building(pristine.table.foreach)
pristine.coroutine = {
  create = coroutine_create, resume = safe_resume, wrap = safe_wrap, yield = coroutine_yield,
  status = coroutine_status, running = coroutine_running, isyieldable = coroutine_isyieldable,
}

local BASE = {
  "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawset", "rawlen", "select",
  "setmetatable", "getmetatable", "tonumber", "tostring", "type", "unpack", "_VERSION",
}
local base_values = {}
for _, name in ipairs(BASE) do base_values[name] = _G[name] end
base_values.tostring = safe_tostring
for _, name in ipairs({ "next", "pairs", "rawget", "rawset", "getmetatable", "setmetatable" }) do
  base_values[name] = building(base_values[name])
end

local os_date, os_time, os_clock, os_difftime = os.date, safe_os_time, os.clock, os.difftime

function run_snippet(nested)
  local parameters = nested.argument
  local env = {}
  for name, value in pairs(base_values) do env[name] = value end
  env.pcall, env.xpcall = safe_pcall, safe_xpcall
  env.string, env.table, env.math = copy(pristine.string), copy(pristine.table), copy(pristine.math)
  env.parameters = parameters
  if type(parameters) == "table" then
    for key, value in pairs(parameters) do
      if type(key) == "string" then env[key] = value end
    end
  end
  env._G = env
  local chunk, err = compile(nested.result.script, "=sandbox", env)
  if not chunk then
    return { error = "Scripts.sandbox: " .. tostring(err), status = 400, type = "QueryError" }
  end
  local deadline = now() + nested.result.timeout
  if deadline < state.deadline then state.snippet_deadline = deadline end
  local results = { safe_pcall(chunk) }
  state.snippet_deadline = nil
  if not results[1] then
    local message = results[2]
    if type(message) ~= "string" then message = "the snippet failed with a " .. type(message) .. " value" end
    return { error = message, status = 400, type = "QueryError" }
  end
  return { value = results[2] }
end

-- Each run's environment and the tables in it are built by generated constructors (copier):
-- the fixed globals in place, a free slot for each one set per run.
local env_values = { pcall = safe_pcall, xpcall = safe_xpcall, print = script_print, to_json = to_json,
  from_json = from_json }
for name, value in pairs(base_values) do env_values[name] = value end
local env_slots = { "bench", "string", "table", "math", "coroutine", "os", "load", "loadstring", "murano",
  "require", "json", "log", "_G", "request", "response", "context" }
for name in pairs(missing_services) do env_slots[#env_slots + 1] = name end
for _, service in ipairs(service_functions) do
  for _, name in ipairs(service.names) do env_slots[#env_slots + 1] = name end
end
local new_globals = copier(env_values, env_slots)
local new_string, new_table = copier(pristine.string), copier(pristine.table)
local new_math, new_coroutine = copier(pristine.math), copier(pristine.coroutine)

-- The solution's clock, not the host's: tests and `advance` move it.
local os_functions = {
  date = function(format, t) return os_date(format, t or math_floor(clock())) end,
  time = function(t) if t == nil then return math_floor(clock()) end return os_time(t) end,
  now = function() return math_floor(clock() * 1000) end,
  clock = os_clock, difftime = os_difftime,
}
local new_os = copier(os_functions, { "getenv" })

-- A service's operations and the function answering the operations its spec lacks are the same
-- every run; its table and that table's metatable are the script's own.
-- A service murano-sim does not emulate: one locked metatable per name, a fresh (empty) table per run.
local missing_metatables = {}
for name, alias in pairs(missing_services) do
  missing_metatables[name] = not_emulated_metatable(name, alias)
end
local function not_emulated_alias(_, alias)
  return not_emulated(tostring(alias), tostring(alias))
end

local function new_env(env_vars, modules)
  local env = new_globals()
  env.bench = { measure = measure }
  env.string, env.table, env.math, env.coroutine = new_string(), new_table(), new_math(), new_coroutine()
  local os_table = new_os()
  os_table.getenv = function(name) return env_vars[name] end
  env.os = os_table
  local load = make_load(env)
  env.load, env.loadstring = load, load
  local by_alias = {}
  for name, metatable in pairs(missing_metatables) do
    env[name] = setmetatable({}, metatable)
  end
  for _, service in ipairs(service_functions) do
    -- One table behind all its names, built on first use. An operation the spec lacks still
    -- reaches the dispatcher, which answers it with a clear error table ("User.getSocialLoginUrl
    -- is not emulated by murano-sim"), never Lua's "attempt to call field"; rawget and pairs
    -- still see only the emulated operations.
    local functions = setmetatable({}, service.pending)
    for _, name in ipairs(service.names) do
      env[name] = functions
    end
    by_alias[service.alias] = functions
  end
  -- murano.services.<alias>.op(args) and murano.service_call(alias, op, args): the generic forms.
  local services = setmetatable(by_alias, { __index = not_emulated_alias, __metatable = false })
  env.murano = {
    services = services,
    service_call = function(alias, operation, arguments)
      return services[alias][operation](arguments)
    end,
  }
  env.require = function(name, level)  -- level: platform.lua's require passes 3 (it calls this one)
    -- Murano names modules by their path under modules/ ("c2c.utils"); "modules.c2c.utils"
    -- is accepted too, whichever of the two forms the solution's table holds.
    if type(name) == "string" and modules.sources[name] == nil then
      local other = name:sub(1, 8) == "modules." and name:sub(9) or "modules." .. name
      if modules.sources[other] ~= nil then name = other end
    end
    local loaded = rawget(modules.loaded, name)
    if loaded ~= nil then return loaded end
    local source = modules.sources[name]
    if source == nil then
      error(string_format("module '%s' not found", safe_tostring(name)), level or 2)
    end
    local chunk, err = compile_file(source, "=" .. modules.files[name], env)
    if not chunk then error(err, 0) end
    local value = chunk(name)
    if value == nil then value = true end
    modules.loaded[name] = value
    return value
  end
  if host.install_platform then
    host.install_platform(env)
    local json = rawget(env, "json")
    env_nulls[env] = type(json) == "table" and rawget(json, "null") or nil
  end
  env._G = env
  return env
end

-- A Lua stand-in runs in its own environment (a script's globals and services, no solution
-- modules), made the first time a caller environment uses it and kept beside that environment
-- in a table no script can reach: its upvalues live as long as the caller's environment does.
local standins = setmetatable({}, { __mode = "k" })

local function standin_results(spec, ok, ...)
  if not ok then
    local message = (...)
    if type(message) ~= "string" then message = "the stand-in failed with a " .. type(message) .. " value" end
    return { error = message, status = 500, type = "ServerError" }
  end
  if select("#", ...) == 0 or (...) == nil then return spec.empty end
  return ...
end

function run_standin(nested, missing)
  local spec = nested.result
  local loaded = standins[current_env]
  if loaded == nil then
    loaded = {}
    standins[current_env] = loaded
  end
  local functions = loaded[spec.alias]
  if functions == nil then
    local own = new_env(state.env_vars, { sources = {}, files = {}, loaded = {} })
    local chunk, err = compile(spec.source, "=" .. spec.file, own)
    if not chunk then return { error = err, status = 500, type = "ServerError" } end
    local ok, value = safe_pcall(chunk)
    if not ok or type(value) ~= "table" then
      if ok then value = spec.file .. ": must return a table of functions, returned a " .. type(value) end
      if type(value) ~= "string" then value = spec.file .. ": failed with a " .. type(value) .. " value" end
      return { error = value, status = 500, type = "ServerError" }
    end
    functions = { env = own, table = value }
    loaded[spec.alias] = functions
  end
  local fn = rawget(functions.table, nested["function"])
  if type(fn) ~= "function" then return missing end
  rawset(functions.env, "context", nested.context)
  return standin_results(spec, safe_pcall(fn, nested.argument))
end

-- Where an error object without a position was raised: the script's file and line.
local function on_error(err)
  if err == MEMORY_ERROR or state.tripped or type(err) == "string" then
    return err
  end
  for level = 2, 8 do
    local info = debug_getinfo(level, "Sl")
    if not info then break end
    if info.currentline and info.currentline > 0 and info.source ~= "=sandbox.lua" and info.source ~= "=patterns.lua" then
      state.where = info.short_src .. ":" .. info.currentline
      break
    end
  end
  return err
end

local function describe(err)
  if state.tripped then return state.tripped end
  if err == MEMORY_ERROR then return state.memory_msg end
  if type(err) == "string" then
    if string_find(err, "stack overflow", 1, true) and not string_find(err, "C stack overflow", 1, true) then
      return err .. " (recursion deeper than LuaJIT's stack limit of 65500 slots)"
    end
    return err
  end
  local ok, text = pcall(safe_tostring, err)
  if state.tripped then return state.tripped end
  if not ok or type(text) ~= "string" then
    text = "error object is a " .. type(err) .. " value"
  end
  if state.where then text = state.where .. ": " .. text end
  return text
end

-- Stop counting and lift the memory limit before building anything to hand back.
local function finish(ok, ...)
  debug_sethook()
  memory_limit(false)
  return ok, ...
end

-- Runs one script. `prelude` is a list of {name, source} chunks run first in the same
-- environment (older-style modules that define global tables); `env` is an environment from
-- an earlier run to reuse (event handlers of one solution share one context), else a fresh one.
-- Returns "ok", env, first result   |   "error", env, message
-- `globals` holds per-execution values (context, a handler's argument) set before it starts.
local function run(source, chunkname, response, env_vars, modules, limits, deadline, prelude, env, globals,
                   coverage, request, ...)
  modules = modules or { sources = {}, files = {}, loaded = {} }
  if request == nil then request = host.new_request(...) end  -- the usual fields, as arguments (vm.py)
  response = response or { code = 200, message = "Ok", headers = {} }
  state.ticks, state.tripped, state.where, state.tripped_at, state.tick_info = 0, nil, nil, nil, nil
  c_depth, uncounted, credit, work, in_host = 0, 0, 0, 0, 0
  state.step = limits.step
  state.max_ticks = limits.max_ticks
  state.deadline = deadline
  state.instruction_msg = limits.instruction_msg
  state.timeout_msg = limits.timeout_msg
  state.memory_msg = limits.memory_msg
  state.scratch = limits.scratch
  state.env_vars = env_vars  -- a Lua stand-in's environment sees the same os.getenv
  state.coverage = coverage
  runs = runs + 1
  math_randomseed((seed_base + runs * 7919) % 2147483647)
  env = env or new_env(env_vars, modules)
  if coverage then  -- every proxy made before the budget starts (modules compile within it)
    for _, hits in pairs(coverage) do coverage_proxy(env, hits) end
  end
  env.request, env.response = request, response
  if globals then
    for name, value in pairs(globals) do env[name] = value end
  end
  string_mt.__index = env.string
  local chunks = {}
  for i, part in ipairs(prelude or {}) do
    local chunk, err = compile_file(part[2], "=" .. part[1], env)
    if not chunk then return "error", env, err end
    chunks[i] = chunk
  end
  local main, err = compile_main(source, chunkname, env)
  if not main then
    return "error", env, err
  end
  local function body(...)
    for i = 1, #chunks do chunks[i]() end
    return main(...)
  end
  reserve_scratch(limits.scratch)
  pace_gc(limits.scratch)
  memory_limit(true, true)  -- the budget starts here: the sandbox's setup above is not the script's
  state.memory_watch, state.memory_grain = collectgarbage("count") + limits.memory_near_kb, limits.memory_grain_kb
  if coverage then
    debug_sethook(on_line_or_tick, "l", limits.step)
  else
    debug_sethook(on_tick, "", limits.step)
  end
  local outer_env = current_env
  current_env = env
  running_chunks[main] = true
  local results = { finish(xpcall_args(body, on_error, request, response)) }
  running_chunks[main] = nil
  setfenv(main, parked_env)  -- a kept chunk does not hold this run's environment alive
  current_env = outer_env
  if not results[1] then
    -- An error object's __tostring is script code: describe it under the same limits.
    c_depth, uncounted = 0, 0
    memory_limit(true)
    debug_sethook(on_tick, "", limits.step)
    local message = describe(results[2])
    finish(true)
    local at, info = state.tripped and state.tripped_at, state.tick_info
    if not at and results[2] == MEMORY_ERROR and info and info.currentline > 0 then
      at = info.short_src .. ":" .. info.currentline
    end
    return "error", env, message, at
  end
  if state.tripped then
    return "error", env, state.tripped, state.tripped_at
  end
  -- `return x` sets the body, as Murano's `return "text"` does. Empty headers come back as nil
  -- so that the host need not walk an empty table.
  -- An endpoint that assigns a new table to `response` is answered from that table.
  local current = rawget(env, "response")
  if type(current) == "table" and current ~= response then
    response = current
    if rawget(response, "code") == nil then rawset(response, "code", 200) end
    if rawget(response, "message") == nil then rawset(response, "message", "Ok") end
  end
  local message = results[2]
  if message == nil then message = rawget(response, "message") end
  local headers = rawget(response, "headers")
  if type(headers) == "table" and next(headers) == nil then headers = nil end
  return "ok", env, rawget(response, "code"), message, headers
end

return run, mark_empty_array, is_empty_array, host_function
