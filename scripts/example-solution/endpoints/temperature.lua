--#ENDPOINT GET /devices/{identity}/temperature
-- A device's latest temperature (Keystore), 404 before its first reading.
local identity = request.parameters.identity
local latest = Keystore.get({ key = "temperature:" .. identity }).value
if latest == nil then
  response.code = 404
  return { error = "no reading from " .. identity }
end
return { identity = identity, celsius = tonumber(latest) }
