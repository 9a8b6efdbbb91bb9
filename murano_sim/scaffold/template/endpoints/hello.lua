--#ENDPOINT GET /hello/{name}
-- Greets by name and counts the visits (Keystore).
local greeting = require("greeting")

local name = request.parameters.name
local key = "visits:" .. name
local found = Keystore.get({ key = key })
if found.error then
  response.code = 502
  return { error = found.error }
end
local visits = (tonumber(found.value) or 0) + 1
Keystore.set({ key = key, value = visits })
return { greeting = greeting.greet(name), visits = visits }
