-- get media from a message
local out = Twilio.getMedia({MessageSid = "xxxx", MediaSid = "yyyy"})
response.message = out
