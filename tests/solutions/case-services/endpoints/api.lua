--#ENDPOINT GET /count
return {count = tonumber(Keystore.get({key = "count"}).value or "0")}

--#ENDPOINT POST /bump
local count = tonumber(Keystore.get({key = "count"}).value or "0") + 1
Keystore.set({key = "count", value = count})
Tsdb.write({metrics = {bumps = count}, tags = {who = request.body.who}})
Timer.sendAfter({message = "bumped " .. count, duration = 30000, timer_id = "later"})
return {count = count}

--#ENDPOINT POST /invite
local token = User.getUserToken({email = request.body.email, password = request.body.password})
if type(token) ~= "string" then
  response.code = 403
  return token
end
Email.send({to = request.body.friend, subject = "Join me", text = "Invited by " .. request.body.email})
return {invited = request.body.friend}
