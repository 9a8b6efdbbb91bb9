-- Formats device alerts as SMS text (one GSM-7 segment at most). No "[ ]" around the level:
-- brackets are GSM-7 extension characters that count twice (modules/alerts_test.lua caught it).
local alerts = {}

local LEVELS = { info = "INFO", warning = "WARN", critical = "CRIT" }
local MAX_LENGTH = 160

function alerts.format(alert)
  if type(alert) ~= "table" then
    return nil, "body must be a JSON object"
  end
  local level = LEVELS[alert.severity or "info"]
  if not level then
    return nil, "unknown severity: " .. tostring(alert.severity)
  end
  if type(alert.device) ~= "string" or alert.device == "" then
    return nil, "device is required"
  end
  local text = string.format("%s %s: %s", level, alert.device, alert.message or "no details")
  if #text > MAX_LENGTH then
    text = text:sub(1, MAX_LENGTH - 3) .. "..."
  end
  return text
end

return alerts
