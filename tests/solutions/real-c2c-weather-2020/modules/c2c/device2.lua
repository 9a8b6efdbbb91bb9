-- A proxy on Device2 that keeps the remote cloud in sync
local d2 = {}
local murano2cloud = require("c2c.murano2cloud")

function d2.setIdentityState(operation)
  local identity = operation.identity
  local result = murano.services.device2.setIdentityState(operation)
  if result and result.error then return result end
  operation.identity = nil
  local cloudResult = murano2cloud.setIdentityState(identity, operation)
  if cloudResult and cloudResult.error then return cloudResult end
  return result
end

-- Every other operation reaches the real service
setmetatable(d2, {
  __index = function(t, k)
    return murano.services.device2[k]
  end
})
_G["Device2"] = d2
-- No return: this runs at each VM load, without any require
