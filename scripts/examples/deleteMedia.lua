-- delete a media from a message
local out = Twilio.deleteMedia({MessageSid = "xxxx", MediaSid = "yyyy"})
response.message = out
