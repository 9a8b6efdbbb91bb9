-- Murano's platform globals beyond the sandbox's basics: `json`, `log`, the
-- `__type = "slice"` marker, and the platform modules Exosite templates `require` but do not
-- ship (`staging.mcrypto`). Run once per Lua runtime, before sandbox.lua, with the full
-- standard library in reach; returns `install(env)` (sandbox.lua's new_env calls it on every
-- fresh environment, after to_json/from_json/print/require are in place) and `classify(t)`,
-- which tells the host how to encode an empty table: "null", "array" or nil (an object).
-- Scripts never see this file's locals.

local host = ...

local type, setmetatable, rawget, error = type, setmetatable, rawget, error
local debug_getmetatable = debug.getmetatable
local json_parse, rand_bytes, b64_encode, b64_decode =
  host.json_parse, host.rand_bytes, host.b64_encode, host.b64_decode

-- json.null: one read-only table per environment, all sharing this locked metatable, so the
-- host recognises any of them and no script can reach the metatable.
local NULL_MT = {
  __metatable = false,
  __tostring = function() return "null" end,
  __newindex = function() error("json.null is read-only", 2) end,
}

local function classify(t)
  local mt = debug_getmetatable(t)
  if mt == NULL_MT then return "null" end
  if type(mt) == "table" and rawget(mt, "__type") == "slice" then return "array" end
  return nil
end

local function is_null(value)
  return value == nil or (type(value) == "table" and debug_getmetatable(value) == NULL_MT)
end

-- Platform modules: built on first require, one copy per environment.
local PLATFORM_MODULES = {
  ["staging.mcrypto"] = function()
    return {
      rand_bytes = function(n) return rand_bytes(n) end,
      b64url_encode = function(s) return b64_encode(s, true) end,
      b64url_decode = function(s) return b64_decode(s, true) end,
      b64_encode = function(s) return b64_encode(s, false) end,
      b64_decode = function(s) return b64_decode(s, false) end,
    }
  end,
}

-- The functions that capture nothing per run (the log levels, json.stringify) are made once per
-- sandbox print/to_json pair and shared by every run: no script can change a function (setfenv
-- and debug are out of its reach). The tables holding them, and json.null, stay per run.
local shared_print, shared_to_json, shared_log, shared_stringify

local function shared_functions(print, to_json)
  if shared_print ~= print or shared_to_json ~= to_json or shared_log == nil then
    local function at(level)
      local prefix = "[" .. level .. "]"
      return function(...) print(prefix, ...) end
    end
    shared_log = { debug = at("debug"), info = at("info"), warn = at("warn"), error = at("error") }
    shared_stringify = function(value) return to_json(value) end
    shared_print, shared_to_json = print, to_json
  end
  return shared_log, shared_stringify
end

local function install(env)
  local to_json, print, solution_require = env.to_json, env.print, env.require
  local log, stringify = shared_functions(print, to_json)
  local null = setmetatable({}, NULL_MT)
  env.json = {
    null = null,
    is_null = is_null,
    parse = function(text) return json_parse(text, null) end,
    stringify = stringify,
  }
  env.log = { debug = log.debug, info = log.info, warn = log.warn, error = log.error }
  local loaded = {}
  env.require = function(name)
    local build = PLATFORM_MODULES[name]
    if build == nil then
      -- Not a tail call (Lua 5.1 drops a tail-called frame): level 3 is the script's line on both engines.
      return (solution_require(name, 3))
    end
    local module = loaded[name]
    if module == nil then
      module = build()
      loaded[name] = module
    end
    return module
  end
  -- Exosite's own templates also use it as a global without a require (open-weather-product's
  -- c2c/authentication.lua): the same table, built when first touched.
  setmetatable(env, { __index = function(_, key)
    if key == "mcrypto" then
      local module = env.require("staging.mcrypto")
      rawset(env, "mcrypto", module)
      return module
    end
  end })  -- not locked: a script may set its own metatable on _G, as in plain Lua
end

return install, classify
