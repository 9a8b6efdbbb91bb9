-- get network traversal service tokens
local out = Twilio.createToken({
Ttl = 3600
})
response.message = out
