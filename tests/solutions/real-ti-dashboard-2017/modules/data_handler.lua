local data_handler = {}

local function flatten(value, path, metrics)
  metrics = metrics or {}
  if type(value) == 'table' then
    for k, v in pairs(value) do flatten(v, path .. '.' .. tostring(k), metrics) end
  elseif type(value) == 'number' or tostring(tonumber(value)) == value then
    metrics[path] = tonumber(value)
  else
    metrics[path] = value
  end
  return metrics
end

-- A product event: remember the serial number, keep gateway fields in Keystore lists and
-- write everything else to Tsdb.
function data_handler.data_in(event)
  Keystore.command{ key = 'serialNumbers', command = 'sadd', args = { event.identity } }
  if event['type'] ~= 'data_in' then
    return
  end

  for _, tsval in ipairs(event.payload) do
    for alias, value in pairs(tsval.values) do
      if table.contains(GWE.Fields, alias) then
        local key = string.gsub(alias .. "." .. event.identity, '[^%w@.-]', '-')
        Keystore.command{ key = key, command = 'lpush', args = { value } }
        Keystore.command{ key = key, command = 'ltrim', args = { 0, 20 } }
      else
        local toWrite = { tags = { identity = event.identity, sn = event.identity }, metrics = {}, ts = tsval.timestamp }
        if type(value) == 'number' or tostring(tonumber(value)) == value then
          toWrite.metrics[alias] = tonumber(value)
        else
          local jvals, err = from_json(value)
          if err ~= nil or type(jvals) ~= 'table' then
            toWrite.metrics[alias] = value
          else
            if jvals.sn ~= nil then
              -- a sub-device behind the gateway
              toWrite.tags.sn = jvals.sn
              toWrite.tags.gwe = event.identity
              Keystore.command{ key = 'serialNumbers', command = 'sadd', args = { jvals.sn } }
              jvals.sn = nil
            end
            toWrite.metrics = flatten(jvals, alias)
          end
        end
        Tsdb.write(toWrite)
      end
    end
  end
end

return data_handler
