--#ENDPOINT POST /api/v1/user-signup
-- luacheck: globals request response (magic variables from Murano)
local email = request.body.email
local ret = User.createUser({
  email = email,
  name = request.body.name or email,
  password = request.body.password
})
if type(ret) == "table" and ret.status_code ~= nil then
  response.code = ret.status_code
  response.message = ret.message or ret.error
else
  local domain = string.gsub(request.uri, 'https?://(.-/)(.*)', '%1')
  Email.send({
    from = 'Sample App <mail@example.com>',
    to = email,
    subject = ("Signup on " .. domain),
    text = "Hi " .. email .. ",\nClick this link to verify your account:\nhttps://" .. domain .. "api/v1/verify/" .. ret
  })
  response.message = "Check your email"
end
