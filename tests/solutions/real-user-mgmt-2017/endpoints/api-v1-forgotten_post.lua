--#ENDPOINT POST /api/v1/forgotten
if request.body.email == nil then
  response.code = 400
  response.message = "Email missing"
  return
end

local users = User.listUsers{ filter = {"email::like::" .. request.body.email} }
if users.status ~= nil then
  response.code = 404
  response.message = "Users not found"
  return
end
if #users == 0 then
  response.code = 404
  response.message = "User not found"
  return
end
local user = users[1]

math.randomseed(os.time() + os.clock())
local resetToken = Base64.to_base64(math.random() .. os.time() .. math.random())

local ret = Keystore.set{key = resetToken, value = user.id}
if type(ret) == "table" and ret.error ~= nil then
  response.code = ret.status
  response.message = ret
  return
end
Keystore.command{key = resetToken, command = 'EXPIRE', args = { 24 * 3600 }}

Email.send({
  from = 'Sample App <mail@example.com>',
  to = user.email,
  subject = "Password reset request",
  text = "Hi " .. user.email .. ",\nReset your password: /resetPassword.html?rt=" .. resetToken
})
