-- Twilio calling back into the solution, and a script that sends a message with a status callback.

--#ENDPOINT POST /twilio/sms
print("inbound sms " .. request.body.MessageSid .. " from " .. request.body.From .. ": " .. request.body.Body)
response.headers["content-type"] = "text/xml"
return '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Got: ' .. request.body.Body .. '</Message></Response>'

--#ENDPOINT POST /twilio/status
print("status " .. request.body.MessageSid .. " " .. request.body.MessageStatus)
return ""

--#ENDPOINT POST /notify
local out = Twilio.postMessage({
  From = "+15005550006",
  To = request.body.to,
  Body = request.body.text,
  StatusCallback = "http://" .. request.headers.host .. "/twilio/status",
})
if out.error then
  response.code = out.status
end
return out

--#ENDPOINT POST /twilio/inspect
-- What the endpoint saw, so a test can check Twilio's signature against it.
return { uri = request.uri, signature = request.headers["x-twilio-signature"], params = request.body }
