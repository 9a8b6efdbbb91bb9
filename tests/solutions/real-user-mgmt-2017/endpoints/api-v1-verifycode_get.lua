--#ENDPOINT GET /api/v1/verify/{code}
local ret = User.activateUser({code = request.parameters.code})
if ret == 'OK' then
  response.headers["Location"] = "/index.html"
  response.code = 303
else
  response.code = 401
  response.message = 'Sign up failed. Error: ' .. tostring(ret.message or ret.error)
end
