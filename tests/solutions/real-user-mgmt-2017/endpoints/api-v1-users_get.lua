--#ENDPOINT GET /api/v1/users
local user = UserUtil.currentUserFromHeaders(request.headers)
if user == nil then
  response.code = 403
  response.message = "Login first"
  return
end
local out = {}
for _, u in ipairs(User.listUsers{}) do
  table.insert(out, u.email)
end
return out
