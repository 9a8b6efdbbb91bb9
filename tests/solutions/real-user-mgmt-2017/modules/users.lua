-- luacheck: ignore UserUtil
-- Old-style global module: the current user from the session cookie or an x-token header.
UserUtil = {}

function UserUtil.currentUserFromHeaders(headers)
  local _
  local sid = headers['x-token']
  if sid == nil then
    if type(headers.cookie) ~= "string" then
      return nil
    end
    _, _, sid = string.find(headers.cookie, "sid=([^;]+)")
    if type(sid) ~= "string" then
      return nil
    end
  end
  local user = User.getCurrentUser{token = sid}
  if user ~= nil and user.id ~= nil then
    user.token = sid
    return user
  end
  return nil
end
