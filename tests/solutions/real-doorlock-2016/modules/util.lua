-- 2016 style: a module defines a global table and returns nothing
util = {}

-- the signed-in user from the "sid" cookie, or from a "token" header
util.whoami = function(request)
  local token
  if type(request.headers.cookie) == "string" then
    local _, _, sid = string.find(request.headers.cookie, "sid=([^;]+)")
    token = sid
  else
    token = request.headers.token
  end
  if type(token) ~= "string" then return nil end
  local user = User.getCurrentUser({token = token})
  if user ~= nil and user.id ~= nil then return user end
  return nil
end

util.lockState = function(lock_id)
  return Keystore.command({command = 'hgetall', key = 'lock:' .. lock_id})
end

util.saveLockState = function(lock_id, pairs_list)
  return Keystore.command({command = 'hmset', key = 'lock:' .. lock_id, args = pairs_list})
end
