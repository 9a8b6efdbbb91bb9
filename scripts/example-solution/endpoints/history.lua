--#ENDPOINT GET /devices/{identity}/history
-- A device's readings of the last day (Tsdb), oldest first, times in Unix seconds.
local identity = request.parameters.identity
local found = Tsdb.query({ metrics = { "temperature" }, tags = { identity = identity },
                           relative_start = "-1d", order_by = "asc", epoch = "s" })
if found.error then
  response.code = 502
  return { error = found.error }
end
local out = {}
for _, row in ipairs(found.values or {}) do
  out[#out + 1] = { time = row[1], celsius = row[2] }
end
return { identity = identity, readings = out }
