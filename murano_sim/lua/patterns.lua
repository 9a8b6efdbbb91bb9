-- Lua patterns with a time limit. LuaJIT's matcher runs in C, where the count hook cannot
-- fire: a backtracking pattern (`string.rep("a", 500):find(".-.-.-b")`) holds the host for
-- as long as it likes. The sandbox estimates each call's worst case first (`cost`) and only
-- lets cheap ones run natively; the rest run here, in Lua, where the hook keeps checking the
-- deadline. This is a line-by-line port of lib_string.c (LuaJIT 2.1), so results and error
-- messages are the same.
local native, counting = ...
local byte, sub, char, concat = native.byte, native.sub, native.char, native.concat
local native_find, tostring, type, error, setmetatable, getmetatable = native.find, native.tostring, type, error,
  setmetatable, getmetatable

local CAP_UNFINISHED, CAP_POSITION = -1, -2
local MAX_CAPTURES, MAX_XLEVEL = 32, 200

-- A malformed pattern found while matching; the caller raises it at the script's line.
local PatternError = {}
local function fail(message)
  error(setmetatable({ message }, PatternError), 0)
end
local function pattern_error(err)
  return getmetatable(err) == PatternError and err[1] or nil
end

-- %a, %d, ... as LuaJIT's own matcher classifies bytes (C locale), upper case = complement.
local CLASS = {}
for letter in ("acdglpsuwxz"):gmatch(".") do
  local set, complement = {}, {}
  for c = 0, 255 do
    local hit = native_find(char(c), "%" .. letter) ~= nil
    set[c], complement[c] = hit, not hit
  end
  CLASS[byte(letter)], CLASS[byte(letter:upper())] = set, complement
end

-- Matcher state of the call in progress (a match never yields or re-enters: callbacks run
-- between two matches, and every driver sets the state again before matching).
local src, src_len, pat, pat_len, level, depth = "", 0, "", 0, 0, 0
local cap_init, cap_len = {}, {}

local function set_subject(s, p)
  local zero = native_find(p, "\0", 1, true)  -- C sees the pattern up to its first NUL
  if zero then p = sub(p, 1, zero - 1) end
  src, src_len, pat, pat_len = s, #s, p, #p
end

local function class_end(p)
  local c = byte(pat, p)
  p = p + 1
  if c == 37 then  -- %
    if p > pat_len then fail("malformed pattern (ends with '%')") end
    return p + 1
  elseif c == 91 then  -- [
    if byte(pat, p) == 94 then p = p + 1 end
    repeat
      if p > pat_len then fail("malformed pattern (missing ']')") end
      local cc = byte(pat, p)
      p = p + 1
      if cc == 37 and p <= pat_len then p = p + 1 end
    until byte(pat, p) == 93
    return p + 1
  end
  return p
end

local function match_class(c, cl)
  local set = CLASS[cl]
  if set then return set[c] end
  return cl == c
end

local function match_bracket(c, p, ec)
  local sig = true
  if byte(pat, p + 1) == 94 then
    sig = false
    p = p + 1
  end
  p = p + 1
  while p < ec do
    local pc = byte(pat, p)
    if pc == 37 then
      p = p + 1
      if match_class(c, byte(pat, p)) then return sig end
    elseif byte(pat, p + 1) == 45 and p + 2 < ec then
      p = p + 2
      if pc <= c and c <= byte(pat, p) then return sig end
    elseif pc == c then
      return sig
    end
    p = p + 1
  end
  return not sig
end

local function single_match(c, p, ep)
  local pc = byte(pat, p)
  if pc == 46 then return true end
  if pc == 37 then return match_class(c, byte(pat, p + 1)) end
  if pc == 91 then return match_bracket(c, p, ep - 1) end
  return pc == c
end

local match

local function match_balance(s, p)
  if p + 1 > pat_len then fail("unbalanced pattern") end
  if s > src_len or byte(src, s) ~= byte(pat, p) then return nil end
  local open, close, count = byte(pat, p), byte(pat, p + 1), 1
  s = s + 1
  while s <= src_len do
    local c = byte(src, s)
    if c == close then
      count = count - 1
      if count == 0 then return s + 1 end
    elseif c == open then
      count = count + 1
    end
    s = s + 1
  end
  return nil
end

local function max_expand(s, p, ep)
  local i = 0
  while s + i <= src_len and single_match(byte(src, s + i), p, ep) do i = i + 1 end
  while i >= 0 do
    local res = match(s + i, ep + 1)
    if res then return res end
    i = i - 1
  end
  return nil
end

local function min_expand(s, p, ep)
  while true do
    local res = match(s, ep + 1)
    if res then return res end
    if s <= src_len and single_match(byte(src, s), p, ep) then
      s = s + 1
    else
      return nil
    end
  end
end

local function start_capture(s, p, what)
  local l = level
  if l >= MAX_CAPTURES then fail("too many captures") end
  cap_init[l], cap_len[l] = s, what
  level = l + 1
  local res = match(s, p)
  if not res then level = level - 1 end
  return res
end

local function end_capture(s, p)
  local l = level - 1
  while l >= 0 and cap_len[l] ~= CAP_UNFINISHED do l = l - 1 end
  if l < 0 then fail("invalid pattern capture") end
  cap_len[l] = s - cap_init[l]
  local res = match(s, p)
  if not res then cap_len[l] = CAP_UNFINISHED end
  return res
end

local function match_capture(s, l)
  l = l - 49
  if l < 0 or l >= level or cap_len[l] == CAP_UNFINISHED then fail("invalid capture index") end
  local len = cap_len[l]
  if len >= 0 and src_len - s + 1 >= len and sub(src, cap_init[l], cap_init[l] + len - 1) == sub(src, s, s + len - 1) then
    return s + len
  end
  return nil
end

match = function(s, p)
  depth = depth + 1
  if depth > MAX_XLEVEL then fail("pattern too complex") end
  while true do
    local pc = byte(pat, p)
    if pc == nil then
      break
    elseif pc == 40 then  -- (
      if byte(pat, p + 1) == 41 then
        s = start_capture(s, p + 2, CAP_POSITION)
      else
        s = start_capture(s, p + 1, CAP_UNFINISHED)
      end
      break
    elseif pc == 41 then  -- )
      s = end_capture(s, p + 1)
      break
    elseif pc == 36 and p == pat_len then  -- $ at the end
      if s ~= src_len + 1 then s = nil end
      break
    elseif pc == 37 and byte(pat, p + 1) == 98 then  -- %b
      s = match_balance(s, p + 2)
      if s == nil then break end
      p = p + 4
    elseif pc == 37 and byte(pat, p + 1) == 102 then  -- %f
      p = p + 2
      if byte(pat, p) ~= 91 then fail("missing '[' after '%f' in pattern") end
      local ep = class_end(p)
      local previous = s == 1 and 0 or byte(src, s - 1)
      if match_bracket(previous, p, ep - 1) or not match_bracket(byte(src, s) or 0, p, ep - 1) then
        s = nil
        break
      end
      p = ep
    elseif pc == 37 and (byte(pat, p + 1) or 0) >= 48 and byte(pat, p + 1) <= 57 then  -- %0-%9
      s = match_capture(s, byte(pat, p + 1))
      if s == nil then break end
      p = p + 2
    else
      local ep = class_end(p)
      local m = s <= src_len and single_match(byte(src, s), p, ep)
      local q = byte(pat, ep)
      if q == 63 then  -- ?
        local res = m and match(s + 1, ep + 1)
        if res then
          s = res
          break
        end
        p = ep + 1
      elseif q == 42 then  -- *
        s = max_expand(s, p, ep)
        break
      elseif q == 43 then  -- +
        s = m and max_expand(s + 1, p, ep) or nil
        break
      elseif q == 45 then  -- -
        s = min_expand(s, p, ep)
        break
      elseif m then
        s, p = s + 1, ep
      else
        s = nil
        break
      end
    end
  end
  depth = depth - 1
  return s
end

local function run_match(s, p)
  level, depth = 0, 0
  counting(false)
  local e = match(s, p)
  counting(true)
  return e
end

local function capture(i, s, e)
  if i >= level then
    if i == 0 then return sub(src, s, e - 1) end
    fail("invalid capture index")
  end
  local len = cap_len[i]
  if len == CAP_UNFINISHED then fail("unfinished capture") end
  if len == CAP_POSITION then return cap_init[i] end
  return sub(src, cap_init[i], cap_init[i] + len - 1)
end

local function captures(s, e)
  local n = (level == 0 and s) and 1 or level
  if n == 0 then return end
  if n == 1 then return capture(0, s, e) end
  local out = {}
  for i = 0, n - 1 do out[i + 1] = capture(i, s, e) end
  return native.unpack(out, 1, n)
end

-- string.find / string.match (the pattern branch of str_find_aux).
local function find_aux(s, p, init, find)
  local n = #s
  local st = init
  if st < 0 then st = st + n else st = st - 1 end
  if st < 0 then st = 0 end
  if st > n then st = n end
  set_subject(s, p)
  local anchor, first = byte(pat, 1) == 94, 1
  if anchor then first = 2 end
  local s1 = st + 1
  repeat
    local e = run_match(s1, first)
    if e then
      if find then return s1, e - 1, captures(nil, nil) end
      return captures(s1, e)
    end
    s1 = s1 + 1
  until s1 > n + 1 or anchor
  return nil
end

local function gmatch(s, p)
  local pos = 0
  return function()
    set_subject(s, p)
    for start = pos + 1, src_len + 1 do
      local e = run_match(start, 1)
      if e then
        pos = e == start and e or e - 1
        return captures(start, e)
      end
    end
  end
end

local function expand(replacement, s, e, out, n)
  if not native_find(replacement, "%", 1, true) then
    out[n + 1] = replacement
    return n + 1
  end
  local i, len = 1, #replacement
  while i <= len do
    local c = byte(replacement, i)
    if c ~= 37 then
      local stop = native_find(replacement, "%", i, true) or len + 1
      n = n + 1
      out[n] = sub(replacement, i, stop - 1)
      i = stop
    else
      i = i + 1
      c = byte(replacement, i)
      n = n + 1
      if c == nil then
        out[n] = "\0"
      elseif c < 48 or c > 57 then
        out[n] = char(c)
      elseif c == 48 then
        out[n] = sub(src, s, e - 1)
      else
        out[n] = tostring(capture(c - 49, s, e))
      end
      i = i + 1
    end
  end
  return n
end

local function gsub(s, p, replacement, max_n)
  local kind = type(replacement)
  if kind == "number" then replacement = tostring(replacement) end
  local anchor, first = byte(p, 1) == 94, 1
  if anchor then first = 2 end
  local out, n, count, pos, pending = {}, 0, 0, 1, 1
  local len = #s
  while count < max_n do
    set_subject(s, p)
    local e = run_match(pos, first)
    if e then
      count = count + 1
      if pending < pos then
        n = n + 1
        out[n] = sub(s, pending, pos - 1)
      end
      if kind == "string" or kind == "number" then
        n = expand(replacement, pos, e, out, n)
      else
        local value
        counting(true)  -- the script's own code (a function, or a table's __index) counts
        if kind == "function" then
          value = replacement(captures(pos, e))
        else
          value = replacement[capture(0, pos, e)]
        end
        counting(false)
        if not value then
          value = sub(s, pos, e - 1)
        elseif type(value) ~= "string" and type(value) ~= "number" then
          fail("invalid replacement value (a " .. type(value) .. ")")
        end
        n = n + 1
        out[n] = value
      end
      pending = pos
      if e > pos then pending = e end
    end
    if e and e > pos then
      pos = e
    elseif pos <= len then
      pos = pos + 1
    else
      break
    end
    if anchor then break end
  end
  if pending <= len then
    n = n + 1
    out[n] = sub(s, pending, len)
  end
  return concat(out, "", 1, n), count
end

-- The worst case of a pattern, in matcher steps, for a subject of length n: every start
-- position times every combination of repetitions (each *, +, -, %b or back-reference can
-- take n + 1 lengths, each ? two). `shape` is computed once per pattern and cached.
local shapes, shape_count = {}, 0
local SPECIALS = "[%^%$%*%+%?%.%(%[%%%-]"

local function shape_of(p)
  local found = shapes[p]
  if found then return found end
  local variable, optional, items, ok = 0, 0, 0, true
  if native_find(p, SPECIALS) then
    local i, len = 1, #p
    if byte(p, 1) == 94 then i = 2 end
    while i <= len do
      local c = byte(p, i)
      items = items + 1
      if c == 37 and byte(p, i + 1) == 98 then
        variable, i = variable + 1, i + 4
      elseif c == 37 and byte(p, i + 1) == 102 then
        i = i + 2
        local close = native_find(p, "]", i + 2, true)
        if not close then ok = false break end
        i = close + 1
      elseif c == 37 and (byte(p, i + 1) or 0) >= 48 and byte(p, i + 1) <= 57 then
        variable, i = variable + 1, i + 2
      elseif c == 40 or c == 41 then
        i = i + 1
      else
        local e
        if c == 37 then
          e = i + 2
        elseif c == 91 then
          e = i + 1
          if byte(p, e) == 94 then e = e + 1 end
          repeat
            if e > len then ok = false break end
            local cc = byte(p, e)
            e = e + 1
            if cc == 37 and e <= len then e = e + 1 end
          until byte(p, e) == 93
          if not ok then break end
          e = e + 1
        else
          e = i + 1
        end
        local q = byte(p, e)
        if q == 42 or q == 43 or q == 45 then
          variable, e = variable + 1, e + 1
        elseif q == 63 then
          optional, e = optional + 1, e + 1
        end
        i = e
      end
    end
  else
    items = #p
  end
  -- ok = false: malformed; the port raises the same error the native matcher would.
  found = { special = native_find(p, SPECIALS) ~= nil, anchored = byte(p, 1) == 94, variable = variable,
    optional = optional, items = items + 1, ok = ok }
  if shape_count >= 512 then
    shapes, shape_count = {}, 0
  end
  shapes[p], shape_count = found, shape_count + 1
  return found
end

local function cost(shape, n, starts)
  if not shape.ok then return math.huge end
  return starts * shape.items * (n + 1) ^ shape.variable * 2 ^ shape.optional
end

return {
  find_aux = find_aux, gmatch = gmatch, gsub = gsub, shape_of = shape_of, cost = cost,
  pattern_error = pattern_error,
}
