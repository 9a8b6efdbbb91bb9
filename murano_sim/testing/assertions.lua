-- Assertion helpers for *_test.lua files, run as a prelude chunk in the test's environment.
-- Every failure is raised with error(message, level) so that its position is the line of the
-- test file that called the helper, not a line of this file.

local type, pairs, ipairs, tostring, error, pcall, select, unpack =
  type, pairs, ipairs, tostring, error, pcall, select, unpack
local format, sort, concat = string.format, table.sort, table.concat
local setmetatable, rawset = setmetatable, rawset

local MAX_DEPTH = 4

local function show(value, depth)
  depth = depth or 0
  local kind = type(value)
  if kind == "string" then
    return format("%q", value)
  elseif kind ~= "table" then
    return tostring(value)
  elseif depth >= MAX_DEPTH then
    return "{...}"
  end
  -- The array part in order ({1, 2}), then the other keys sorted ({a=1, [true]=2}).
  local parts, count = {}, #value
  for i = 1, count do parts[i] = show(value[i], depth + 1) end
  local keys = {}
  for k in pairs(value) do
    if not (type(k) == "number" and k >= 1 and k <= count and k % 1 == 0) then keys[#keys + 1] = k end
  end
  sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
    return type(a) < type(b)
  end)
  for _, k in ipairs(keys) do
    local label = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or "[" .. show(k, depth + 1) .. "]"
    parts[#parts + 1] = label .. "=" .. show(value[k], depth + 1)
  end
  return "{" .. concat(parts, ", ") .. "}"
end

local function equal(a, b, seen)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do
    if not equal(v, b[k], seen) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- The first key path where `actual` lacks what `subset` has, or nil when it is all there.
local function missing_from(actual, subset, path)
  for k, want in pairs(subset) do
    local here = path .. "." .. tostring(k)
    local got = type(actual) == "table" and actual[k] or nil
    if type(want) == "table" then
      if type(got) ~= "table" then return here, want, got end
      local where, w, g = missing_from(got, want, here)
      if where then return where, w, g end
    elseif not equal(got, want) then
      return here, want, got
    end
  end
  return nil
end

local function fail_with(name, message, detail)
  local text = name .. " failed: " .. detail
  if message ~= nil then text = tostring(message) .. ": " .. text end
  error(text, 3)
end

function assert_equal(actual, expected, message)
  if not equal(actual, expected) then
    fail_with("assert_equal", message, "expected " .. show(expected) .. ", got " .. show(actual))
  end
end

function assert_not_equal(actual, unexpected, message)
  if equal(actual, unexpected) then
    fail_with("assert_not_equal", message, "got the value it must not be: " .. show(actual))
  end
end

function assert_true(value, message)
  if not value then fail_with("assert_true", message, "got " .. show(value)) end
end

function assert_false(value, message)
  if value then fail_with("assert_false", message, "got " .. show(value)) end
end

function assert_nil(value, message)
  if value ~= nil then fail_with("assert_nil", message, "got " .. show(value)) end
end

function assert_not_nil(value, message)
  if value == nil then fail_with("assert_not_nil", message, "got nil") end
end

function assert_match(text, pattern, message)
  if type(text) ~= "string" or not text:find(pattern) then
    fail_with("assert_match", message, show(text) .. " does not match pattern " .. show(pattern))
  end
end

function assert_table_contains(actual, subset, message)
  if type(actual) ~= "table" then
    fail_with("assert_table_contains", message, "expected a table, got " .. show(actual))
  end
  local where, want, got = missing_from(actual, subset, "")
  if where then
    fail_with("assert_table_contains", message,
      "at " .. where:sub(2) .. ": expected " .. show(want) .. ", got " .. show(got))
  end
end

-- A service call's result is an error table {error=, status=, type=} when it failed.
function assert_ok(result, message)
  if type(result) == "table" and result.error ~= nil and result.status ~= nil then
    fail_with("assert_ok", message, "service error " .. tostring(result.status) .. ": " .. tostring(result.error))
  end
  return result
end

function assert_error(fn, pattern, message)
  local ok, err = pcall(fn)
  if ok then
    fail_with("assert_error", message, "the function did not raise an error")
  elseif pattern ~= nil and not tostring(err):find(pattern) then
    fail_with("assert_error", message, "error " .. show(tostring(err)) .. " does not match " .. show(pattern))
  end
  return err
end

function fail(message)
  error("fail: " .. tostring(message), 2)
end

-- Driver used by the plugin: the test names a file defines, and one test run with setup/teardown.
murano_test = {}

-- Every service's controls (lua_controls.py), like the Python fixtures:
-- murano_test.services.<alias>.<action>(arguments table). A misuse is an error at the test's line,
-- not an error table the test might ignore.
local controls = _murano_test
_murano_test = nil

local function control(service, action, arguments)
  if controls == nil then
    error("murano_test." .. service .. " needs the service's local backend (controls are for *_test.lua)", 3)
  end
  local result = controls.call({ service = service, action = action, arguments = arguments or {} })
  if type(result) == "table" and result.error ~= nil then
    error(result.error, 3)
  end
  return result
end

murano_test.services = setmetatable({}, {
  __index = function(services, service)
    local actions = setmetatable({}, {
      __index = function(_, action)
        return function(arguments)
          local result = control(service, action, arguments)
          return result
        end
      end,
    })
    rawset(services, service, actions)
    return actions
  end,
})

-- The names assertions.lua users know (as the Python `twilio` fixture), with positional arguments.
-- No tail calls below: a tail call drops the wrapper's frame, and level 3 would miss the test.
murano_test.twilio = {
  advance = function(seconds) control("twilio", "advance", { seconds = seconds }) end,
  fail_next = function(status, code, count)
    control("twilio", "fail_next", { status = status, code = code, count = count or 1 })
  end,
  receive_message = function(message)
    local stored = control("twilio", "receive_message", message)
    return stored
  end,
  reset = function() control("twilio", "reset") end,
  messages = function()
    local messages = control("twilio", "messages")
    return messages
  end,
  calls = function()
    local calls = control("twilio", "calls")
    return calls
  end,
}

function murano_test.names()
  local names = {}
  for name, value in pairs(_G) do
    if type(name) == "string" and name:sub(1, 5) == "test_" and type(value) == "function" then
      names[#names + 1] = name
    end
  end
  sort(names)
  return names
end

function murano_test.run(name)
  local test = _G[name]
  if type(test) ~= "function" then
    error("test function " .. name .. " is not defined", 0)
  end
  if type(setup) == "function" then setup() end
  local results = { pcall(test) }
  if type(teardown) == "function" then teardown() end
  if not results[1] then error(results[2], 0) end
  return select(2, unpack(results))
end
