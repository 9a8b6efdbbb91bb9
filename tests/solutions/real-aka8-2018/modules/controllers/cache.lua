local cache = {}

local F = require('libs.fn')

local function bad(text)
  return { code = 400, message = { error = text } }
end

-- Keystore.get of a hash gives the whole hash as a table; each field holds JSON
local function decoded(id)
  local value = Keystore.get({ key = id }).value
  if type(value) ~= "table" then return nil end
  return F.map(value, function(k, v)
    return k, json.parse(v) or 0
  end)
end

function cache.getId(request)
  local id = request.parameters.id
  if not F.isString(id) then return bad('id is not string') end
  return { code = 200, message = decoded(id) or {} }
end

function cache.getIdKeys(request)
  local id = request.parameters.id
  local keys = request.parameters.keys
  if not F.isString(keys) then return bad('keys is not string') end
  local all = decoded(id)
  if not all then return { code = 200, message = {} } end
  return { code = 200, message = F.pick(all, F.split(keys, ',')) }
end

function cache.postIdKey(request)
  local id = request.parameters.id
  local key = request.parameters.key
  local bodyValue = tonumber(request.body.value)
  if bodyValue == nil or F.isNaN(bodyValue) or not F.isFinite(bodyValue) then
    return bad('value is not number')
  end

  local stats = Keystore.command({ key = id, command = 'hget', args = { key } }).value or '{}'
  stats = json.parse(stats) or {}
  if not stats.last then
    stats = { last = bodyValue, max = bodyValue, min = bodyValue, sum = bodyValue, count = 1 }
  else
    stats.last = bodyValue
    stats.max = math.max(stats.max, bodyValue)
    stats.min = math.min(stats.min, bodyValue)
    stats.sum = stats.sum + bodyValue
    stats.count = stats.count + 1
  end
  stats.avg = stats.sum / stats.count

  return {
    code = 200,
    message = {
      kv = Keystore.command({ key = id, command = 'hset', args = { key, json.stringify(stats) } }),
      tsdb = Tsdb.write({ tags = { id = id }, metrics = { [key] = bodyValue } })
    }
  }
end

return cache
