--#EVENT timer timer
-- The daily summary (services/timer.yaml): the last day's readings, texted to on-call.
if request.message ~= "daily" then
  return
end
local readings = require("modules.readings")

local day = Tsdb.query({ metrics = { "temperature" }, relative_start = "-1d",
                         aggregate = { "count", "min", "avg", "max" } })
local text = readings.summary((day.values or {}).temperature)
Keystore.set({ key = "summary:last", value = text })
local sent = Twilio.postMessage({ From = os.getenv("ALERT_FROM"), To = os.getenv("ONCALL_NUMBER"), Body = text })
print(sent.error and ("twilio refused the summary: " .. sent.error) or ("summary sent " .. sent.sid))
