--#ENDPOINT POST /api/v1/resetPassword
local found = Keystore.get{key = request.body.token or ""}
if found.value == nil then
  response.code = 403
  response.message = "Reset token expired or unknown"
  return
end
local ret = User.resetUserPassword{id = tonumber(found.value) or found.value, password = request.body.password}
if type(ret) == "table" and ret.error ~= nil then
  response.code = ret.status
  response.message = ret.error
  return
end
Keystore.delete{key = request.body.token}
response.message = "Password changed"
