--#ENDPOINT post /api/v1/session
local ret = User.getUserToken({
  email = request.body.email,
  password = request.body.password
})
if ret ~= nil and type(ret) == "table" and ret.status_code ~= nil then
  response.code = ret.status_code
  response.message = ret.message or ret.error
else
  response.headers = {
    ["Set-Cookie"] = "sid=" .. tostring(ret)
  }
  response.message = {["token"] = ret}
end
