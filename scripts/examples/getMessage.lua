-- get a list of messages
local list = Twilio.listMessage()
local messages = list.messages
-- get MessageSid of the first message
local first_msg_sid = messages[1].sid
-- use MessageSid as the argument to getMessage
-- to get details about the message
local out = Twilio.getMessage({MessageSid = first_msg_sid})
response.message = out
