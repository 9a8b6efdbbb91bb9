--#ENDPOINT GET /install
-- creates an owner and a guest with their roles; answers the checks as a list
local out = {}
table.insert(out, User.activateUser({code = User.createUser({name = "olga", email = "olga@example.com", password = "olga-secret-1"})}))
table.insert(out, User.activateUser({code = User.createUser({name = "gus", email = "gus@example.com", password = "gus-secret-1"})}))
util.saveLockState('front', {'label', 'Front door'})
local people = User.listUsers()
local olga, gus = people[1], people[2]
User.createRole({role_id = 'keyholder', parameter = {{name = 'lock'}}})
User.createRole({role_id = 'visitor', parameter = {{name = 'lock'}}})
User.assignUser({id = olga.id, roles = {{role_id = 'keyholder', parameters = {{name = 'lock', value = 'front'}}}}})
User.assignUser({id = gus.id, roles = {{role_id = 'visitor', parameters = {{name = 'lock', value = 'front'}}}}})
table.insert(out, User.hasUserRoleParam({id = olga.id, role_id = 'keyholder', parameter_name = 'lock', parameter_value = 'front'}))
local denied = User.hasUserRoleParam({id = gus.id, role_id = 'keyholder', parameter_name = 'lock', parameter_value = 'front'})
table.insert(out, denied.status)
return out

--#ENDPOINT POST /session
local token = User.getUserToken({email = request.body.email, password = request.body.password})
if token ~= nil and token.status_code ~= nil then
  response.code = token.status_code
  response.message = token.message
else
  response.headers = {["Set-Cookie"] = "sid=" .. tostring(token)}
  response.message = User.getCurrentUser({token = token})
end

--#ENDPOINT get /mine
local me = util.whoami(request)
if me == nil then
  response.code = 400
  response.message = "Token invalid"
  return
end
local items = {}
for _, role in pairs(User.listUserRoles({id = me.id})) do
  for _, p in pairs(role.parameters) do
    table.insert(items, {role = role.role_id, lock = p.value, state = util.lockState(p.value).value})
  end
end
return items

--#ENDPOINT post /lock/{lock}
local pid = Config.solution().products[1]
return Device.write({pid = pid, device_sn = request.parameters.lock, ['lock-command'] = request.body['lock-command']})

--#ENDPOINT GET /locks
local pid = Config.solution().products[1]
local found = Device.list({pid = pid})
for _, device in pairs(found) do
  device.state = util.lockState(device.sn).value
end
return found
