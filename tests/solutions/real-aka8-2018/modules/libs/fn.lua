-- A few helpers in the style of the moses/lodash ports the hackathon vendored.
local fn = {}

function fn.isString(v) return type(v) == "string" end
function fn.isNaN(v) return v ~= v end
function fn.isFinite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end

function fn.map(t, f)
  local out = {}
  for k, v in pairs(t) do
    local nk, nv = f(k, v)
    out[nk] = nv
  end
  return out
end

function fn.pick(t, keys)
  local out = {}
  for _, k in ipairs(keys) do out[k] = t[k] end
  return out
end

function fn.split(s, sep)
  local out = {}
  for part in string.gmatch(s, "([^" .. sep .. "]+)") do table.insert(out, part) end
  return out
end

return fn
