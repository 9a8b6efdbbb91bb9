local authentication = {}
-- Authenticates the 3rd party cloud's callback requests

local cloudServiceName = require("c2c.murano2cloud").alias
local mcrypto = require("staging.mcrypto")
local cache = require("c2c.vmcache")

local function getToken()
  local config = Config.getParameters({service = cloudServiceName})
  return config and config.parameters and config.parameters.callback_token
end

function authentication.getPeer(request)
  if request.parameters.token ~= nil and request.parameters.token == cache("callback_token", getToken) then
    return "ok"
  end
end

function authentication.setToken(callback_token)
  callback_token = callback_token or mcrypto.b64url_encode(mcrypto.rand_bytes(20))
  local domain = Config.solution().domain or "localhost"
  Config.setParameters({service = cloudServiceName, parameters = {
    callback_token = callback_token,
    callback_url = 'https://' .. domain .. '/c2c/callback?token=' .. callback_token
  }})
  return callback_token
end

return authentication
