--#ENDPOINT get /api/v1/session
local user = UserUtil.currentUserFromHeaders(request.headers)
if user ~= nil and user.id ~= nil then
  response.headers = { ["Cache-Control"] = 'no-cache' }
  response.message = user
else
  response.code = 400
  response.message = "Session invalid"
end
