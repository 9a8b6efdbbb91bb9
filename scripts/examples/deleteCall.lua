-- get a list of call records
local list = Twilio.listCall()
local calls = list.calls
-- get CallSid of the first call
local first_call_sid = calls[1].sid
-- use CallSid as argument to delete the record of first call
local out = Twilio.deleteCall({CallSid = first_call_sid})
response.message = out
