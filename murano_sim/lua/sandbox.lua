-- The sandbox: run once per Lua runtime, with the full standard library still in reach.
-- It captures what it needs as upvalues, hides the rest, and returns `run`, which executes
-- one script in a fresh whitelisted environment under the instruction and time limits.
-- Scripts never see this file's locals: without `debug` no upvalue is reachable.

local host, service_specs, missing_services = ...

-- Everything the sandbox needs, captured before any script can touch a shared table.
local type, pairs, ipairs, next, select, tostring, error, pcall, xpcall, setmetatable, rawget, rawset =
  type, pairs, ipairs, next, select, tostring, error, pcall, xpcall, setmetatable, rawget, rawset
local loadstring, setfenv, unpack = loadstring or load, setfenv, unpack or table.unpack
local string_byte, string_format, table_concat = string.byte, string.format, table.concat
local debug_sethook, debug_getinfo, debug_getregistry = debug.sethook, debug.getinfo, debug.getregistry
local math_randomseed = math.randomseed
local now, log, encode_json, decode_json, call_service, format_duration, memory_limit, clock =
  host.now, host.log, host.to_json, host.from_json, host.call_service, host.format_duration, host.memory_limit,
  host.clock
local math_floor = math.floor
-- Reseeding every run from a secret base means no script can fix or predict the next one's numbers.
local seed_base, runs = host.random_seed(), 0
-- platform.lua's installer: Murano's json, log, os.now and platform modules on each fresh env.
local install_platform = host.install_platform

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

-- An empty table is ambiguous: JSON `[]` and `{}` both become one. Empty arrays that come
-- from JSON or a service result carry this (locked) marker, so they go back out as `[]`.
local EMPTY_ARRAY = { __metatable = false }
local debug_getmetatable = debug.getmetatable
local function mark_empty_array(t)
  return setmetatable(t, EMPTY_ARRAY)
end
local function is_empty_array(t)
  return debug_getmetatable(t) == EMPTY_ARRAY
end

-- Per-run limit state. `tripped` holds the limit message once a limit is hit: from then on
-- every hook tick and every pcall/xpcall return re-raises it, so no script can swallow it.
local state = { ticks = 0, max_ticks = 0, deadline = 0, tripped = nil, instruction_msg = "", timeout_msg = "",
  memory_msg = "", where = nil }

local function trip(message)
  state.tripped = message
  error(message, 0)
end

local function on_tick()
  if state.tripped then
    error(state.tripped, 0)
  end
  local ticks = state.ticks + 1
  state.ticks = ticks
  if ticks > state.max_ticks then
    trip(state.instruction_msg)
  end
  if now() > state.deadline then
    trip(state.timeout_msg)
  end
  if state.snippet_deadline and now() > state.snippet_deadline then
    error("Scripts.sandbox: the snippet ran past its timeout", 0)  -- the snippet's own limit only
  end
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
  return after_protected(xpcall(f, guarded_handler, ...))
end

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
    return nil, err
  end
  setfenv(chunk, env)
  return chunk
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
      local result, nested = call_service(alias, operation, arguments)
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

-- A Murano service murano-sim does not emulate: any operation is one clear error naming it.
local function not_emulated(name, alias)
  return setmetatable({}, { __index = function(_, operation)
    return function()
      error(string_format("%s.%s: the %s service is not emulated by murano-sim; declare a stand-in under "
        .. "services.%s in config.yaml", name, tostring(operation), alias, alias), 2)
    end
  end, __metatable = false })
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

local pristine = {
  string = copy(string),
  table = copy(table),
  math = copy(math),
}
pristine.string.dump = nil

local BASE = {
  "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawset", "rawlen", "select",
  "setmetatable", "getmetatable", "tonumber", "tostring", "type", "unpack", "_VERSION",
}
local base_values = {}
for _, name in ipairs(BASE) do base_values[name] = _G[name] end

local os_date, os_time, os_clock, os_difftime = os.date, os.time, os.clock, os.difftime

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

local sizes = { string = count(pristine.string), table = count(pristine.table), math = count(pristine.math),
  env = count(base_values) + 16 }

local function new_env(env_vars, modules)
  local env = table_new(0, sizes.env)
  for name, value in pairs(base_values) do env[name] = value end
  env.pcall, env.xpcall = safe_pcall, safe_xpcall
  env.print = script_print
  env.to_json, env.from_json = to_json, from_json
  env.bench = { measure = measure }
  env.string = copy(pristine.string, sizes.string)
  env.table = copy(pristine.table, sizes.table)
  env.math = copy(pristine.math, sizes.math)
  -- The solution's clock, not the host's: tests and `advance` move it.
  env.os = {
    date = function(format, t) return os_date(format, t or math_floor(clock())) end,
    time = function(t) if t == nil then return math_floor(clock()) end return os_time(t) end,
    now = function() return math_floor(clock() * 1000) end,
    clock = os_clock, difftime = os_difftime,
    getenv = function(name) return env_vars[name] end,
  }
  local load = make_load(env)
  env.load, env.loadstring = load, load
  local by_alias = {}
  for name, alias in pairs(missing_services) do
    env[name] = not_emulated(name, alias)
  end
  for _, service in ipairs(service_functions) do
    local functions = copy(service.functions, service.size)  -- one table behind all its names
    for _, name in ipairs(service.names) do
      env[name] = functions
    end
    by_alias[service.alias] = functions
  end
  -- murano.services.<alias>.op(args) and murano.service_call(alias, op, args): the generic forms.
  local services = setmetatable(by_alias, { __index = function(_, alias)
    return not_emulated(tostring(alias), tostring(alias))
  end, __metatable = false })
  env.murano = {
    services = services,
    service_call = function(alias, operation, arguments)
      return services[alias][operation](arguments)
    end,
  }
  env.require = function(name)
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
      error(string_format("module '%s' not found", tostring(name)), 2)
    end
    local chunk, err = compile(source, "=" .. modules.files[name], env)
    if not chunk then error(err, 0) end
    local value = chunk(name)
    if value == nil then value = true end
    modules.loaded[name] = value
    return value
  end
  if install_platform then install_platform(env) end
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
  for level = 2, 6 do
    local info = debug_getinfo(level, "Sl")
    if not info then break end
    if info.currentline and info.currentline > 0 then
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
    if err:find("stack overflow", 1, true) then
      return err .. " (recursion deeper than LuaJIT's stack limit of 65500 slots)"
    end
    return err
  end
  local ok, text = pcall(tostring, err)
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
local function run(source, chunkname, request, response, env_vars, modules, limits, deadline, prelude, env, globals)
  modules = modules or { sources = {}, files = {}, loaded = {} }
  state.ticks, state.tripped, state.where = 0, nil, nil
  state.max_ticks = limits.max_ticks
  state.deadline = deadline
  state.instruction_msg = limits.instruction_msg
  state.timeout_msg = limits.timeout_msg
  state.memory_msg = limits.memory_msg
  state.env_vars = env_vars  -- a Lua stand-in's environment sees the same os.getenv
  runs = runs + 1
  math_randomseed((seed_base + runs * 7919) % 2147483647)
  env = env or new_env(env_vars, modules)
  env.request, env.response = request, response
  if globals then
    for name, value in pairs(globals) do env[name] = value end
  end
  string_mt.__index = env.string
  local chunks = {}
  for i, part in ipairs(prelude or {}) do
    local chunk, err = compile(part[2], "=" .. part[1], env)
    if not chunk then return "error", env, err end
    chunks[i] = chunk
  end
  local main, err = compile(source, chunkname, env)
  if not main then
    return "error", env, err
  end
  local function body(...)
    for i = 1, #chunks do chunks[i]() end
    return main(...)
  end
  memory_limit(true)
  debug_sethook(on_tick, "", limits.step)
  local outer_env = current_env
  current_env = env
  local results = { finish(xpcall(body, on_error, request, response)) }
  current_env = outer_env
  if not results[1] then
    -- An error object's __tostring is script code: describe it under the same limits.
    memory_limit(true)
    debug_sethook(on_tick, "", limits.step)
    local message = describe(results[2])
    finish(true)
    return "error", env, message
  end
  if state.tripped then
    return "error", env, state.tripped
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

return run, mark_empty_array, is_empty_array
