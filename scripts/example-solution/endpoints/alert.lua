--#ENDPOINT POST /alert
-- Texts a device alert to the on-call number.
local alerts = require("modules.alerts")

local text, problem = alerts.format(request.body)
if not text then
  response.code = 400
  return { error = problem }
end

local sent = Twilio.postMessage({
  From = os.getenv("ALERT_FROM"),
  To = os.getenv("ONCALL_NUMBER"),
  Body = text,
  StatusCallback = os.getenv("STATUS_CALLBACK"),
})
if sent.error then
  print("twilio refused the alert: " .. sent.error)
  response.code = 502
  return { error = "could not notify on-call", status = sent.status }
end

print("alert sent " .. sent.sid)
response.code = 201
return { sid = sent.sid, status = sent.status, segments = tonumber(sent.num_segments) }
