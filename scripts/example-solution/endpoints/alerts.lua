--#ENDPOINT GET /alerts
-- The alerts sent to on-call, newest first.
local page = Twilio.listMessage({ To = os.getenv("ONCALL_NUMBER"), PageSize = 20 })
if page.error then
  response.code = 502
  return { error = page.error }
end

local out = {}
for _, message in ipairs(page.messages) do
  out[#out + 1] = { body = message.body, status = message.status }
end
return { count = #out, alerts = out }
