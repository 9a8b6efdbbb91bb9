--#EVENT device2 data_in
-- A device reported: keep its temperature (history in Tsdb, latest in Keystore) and text
-- on-call when it is above the threshold.
local readings = require("modules.readings")

for _, point in ipairs(event.payload or {}) do
  local celsius = tonumber((point.values or {}).temperature)
  if celsius then
    readings.record(event.identity, celsius)
    local text = readings.alert(event.identity, celsius, readings.threshold())
    if text then
      local sent = Twilio.postMessage({ From = os.getenv("ALERT_FROM"), To = os.getenv("ONCALL_NUMBER"), Body = text })
      print(sent.error and ("twilio refused the alert: " .. sent.error) or ("alert sent " .. sent.sid))
    end
  end
end
