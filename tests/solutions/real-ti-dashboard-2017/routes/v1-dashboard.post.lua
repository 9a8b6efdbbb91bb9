--#ENDPOINT POST /v1/dashboard
local ret = Keystore.set{key = 'dashboard.' .. (request.parameters.id or '0'), value = to_json(request.body)}
if type(ret) == 'table' and ret.code ~= nil then
  response.code = ret.code
  response.message = ret.message
end
