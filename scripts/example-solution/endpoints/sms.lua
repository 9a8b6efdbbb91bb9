--#ENDPOINT POST /sms
-- Twilio's inbound-SMS webhook: on-call answers "ACK" to acknowledge.
local body = request.body or {}
response.headers["content-type"] = "text/xml"
if type(body.Body) == "string" and body.Body:upper():find("^%s*ACK") then
  print("acknowledged by " .. tostring(body.From))
  return "<Response><Message>Alert acknowledged.</Message></Response>"
end
return "<Response><Message>Reply ACK to acknowledge.</Message></Response>"
