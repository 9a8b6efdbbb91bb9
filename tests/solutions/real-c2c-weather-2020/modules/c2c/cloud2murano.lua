local cloud2murano = {}
-- Data from the 3rd party into Murano

local murano2cloud = require("c2c.murano2cloud")
local transform = require("vendor.c2c.transform")
local mcrypto = require("staging.mcrypto")
local utils = require("c2c.utils")

local function setName(location)
  if type(location.name) == "string" and #location.name > 2 then return location.name end
  location.name = tostring(location.id)
  return location.name
end

-- Propagate the event to Murano applications as the device gateway would
function cloud2murano.trigger(identity, event_type, payload, options)
  options = options or {}
  local event = {
    ip = options.ip,
    type = event_type,
    identity = identity,
    protocol = murano2cloud.alias,
    timestamp = utils.getTimestamp(options.timestamp),
    connection_id = options.request_id or context.tracking_id,
    payload = payload,
  }
  if handle_device2_event then
    return handle_device2_event(event)
  end
end

function cloud2murano.provisioned(location, options)
  setName(location)
  options = options or {}
  local key = mcrypto.b64url_encode(mcrypto.rand_bytes(20))
  local r = Device2.addIdentity({ identity = location.name, auth = { key = key, type = "password" } })
  if r and r.error then
    if r.status ~= 409 then return r end
    r = Device2.updateIdentity({ identity = location.name, auth = { key = key, type = "password" } })
    if r and r.error then return r end
  end
  r = Device2.addIdentityTag({
    identity = location.name,
    replace = true,
    tags = {{ name = "id", value = tostring(location.id) }, { name = "query", value = options.query or "N/A" }}
  })
  if r and r.error then return r end
  cloud2murano.trigger(location.name, "provisioned", nil, options)
end

function cloud2murano.data_in(location, options)
  options = options or {}
  local data = transform.data_in(location)
  if type(data) ~= "table" then return end
  for k, v in pairs(data) do
    local t = type(v)
    if t ~= "string" and t ~= "number" and t ~= "boolean" then data[k] = to_json(v) end
  end
  setName(location)
  data.identity = location.name
  local r = Device2.setIdentityState(data)
  if r and r.status == 404 then
    -- Auto register the device on its first data
    r = cloud2murano.provisioned(location, options)
    if r and r.error then return r end
    data.identity = location.name
    r = Device2.setIdentityState(data)
    if r and r.error then return r end
  elseif r and r.error then
    return r
  end
  data.identity = nil
  local payload = {{ values = data, timestamp = utils.getTimestamp(options.timestamp) }}
  cloud2murano.trigger(location.name, "data_in", payload, options)
end

local function getTag(name, device)
  for _, tag in ipairs(device.tags or {}) do
    if tag.name == name then return tag.value end
  end
end

-- Poll every known location (the timer does this hourly)
function cloud2murano.syncAll()
  local ids = {}
  local identities = Device2.listIdentities()
  if identities.error then return identities end
  for _, device in ipairs(identities.devices) do
    local id = getTag("id", device)
    if id then table.insert(ids, id) end
  end
  local results = murano2cloud.getAll(ids)
  if not results or results.error then return results end
  for _, location in pairs(results) do
    cloud2murano.data_in(location, {})
  end
end

-- A callback from the 3rd party: one location's data
function cloud2murano.sync(body, options)
  return cloud2murano.data_in(body, options)
end

return cloud2murano
