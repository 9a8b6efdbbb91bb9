--#ENDPOINT POST /alert
local sent = Twilio.postMessage({To = request.body.to, From = "+15005550006", Body = request.body.text})
if sent.error ~= nil then
  local twilio_error = from_json(sent.error) or {}  -- Murano passes Twilio's error body as text
  Keystore.set({key = "refused:" .. request.body.to, value = tostring(twilio_error.code)})
  response.code = 409
  return {refused = twilio_error.code}
end
return {sid = sent.sid}

--#ENDPOINT POST /call
local base = "http://" .. request.headers.host
return Twilio.createCall({To = request.body.to, From = "+15005550006", Url = base .. "/voice/menu",
  MachineDetection = request.body.detect})

--#ENDPOINT POST /voice/menu
response.headers["content-type"] = "text/xml"
local digits = request.body.Digits
if digits == "1" then
  Keystore.set({key = "answer", value = "confirmed"})
  return "<Response><Say>Confirmed.</Say></Response>"
elseif digits == "2" then
  Keystore.set({key = "answer", value = "cancelled"})
  return "<Response><Say>Cancelled.</Say></Response>"
end
return "<Response><Gather numDigits=\"1\" timeout=\"8\"><Say>Press 1 to confirm, 2 to cancel.</Say></Gather>"
  .. "<Say>No answer.</Say></Response>"
