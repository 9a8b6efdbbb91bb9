local murano2cloud = {}
-- Local changes propagated to the 3rd party cloud, through its exchange service.

murano2cloud.alias = "weatherapi"

local function getQuery(identity)
  local lat, lon = string.match(identity, '(-?[0-9.]+),(-?[0-9.]+)')
  if lat and lon then return { lat = lat, lon = lon } end
  return { q = identity }
end

function murano2cloud.query(identity)
  return murano.services[murano2cloud.alias].getWeather(getQuery(identity))
end

function murano2cloud.getAll(ids)
  if not ids[1] then return {} end
  local r = murano.services[murano2cloud.alias].getBulkWeather({ id = ids })
  if r and r.error then return r end
  return r.list
end

-- Called by the Device2 proxy before the local write: nothing to push for this cloud.
function murano2cloud.setIdentityState(identity, state)
  return nil
end

return murano2cloud
