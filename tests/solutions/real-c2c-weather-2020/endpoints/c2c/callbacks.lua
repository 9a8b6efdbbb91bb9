-- Callbacks from the remote cloud; the authentication module checks them.

--#ENDPOINT POST /c2c/callback
local peer = require("c2c.authentication").getPeer(request)
if peer == nil then
  response.code = 401
  return ""
end

local options = {
  ip = request.headers["x-forwarded-for"],
  timestamp = request.body.dt or request.timestamp,
  request_id = request.request_id
}
local r = require("c2c.cloud2murano").sync(request.body, options)
if r and r.error then
  response.code = r.status or 500
  return r
end
return { identity = request.body.name }

--#ENDPOINT GET /c2c/locations
local found = Device2.listIdentities()
local out = setmetatable({}, {__type = "slice"})
for _, device in ipairs(found.devices) do
  table.insert(out, device.identity)
end
return out
