-- Temperature readings: where they are kept, when one is worth a text, the daily summary text.
local alerts = require("modules.alerts")
local readings = {}

-- Above this many degrees Celsius on-call gets a text (env TEMP_ALERT_ABOVE, default 30).
function readings.threshold()
  return tonumber(os.getenv("TEMP_ALERT_ABOVE")) or 30
end

-- History in Tsdb (tagged with the device), the latest value in Keystore.
function readings.record(identity, celsius)
  Tsdb.write({ metrics = { temperature = celsius }, tags = { identity = identity } })
  Keystore.set({ key = "temperature:" .. identity, value = celsius })
end

-- The alert text for a reading above the threshold, else nil.
function readings.alert(identity, celsius, threshold)
  if celsius <= threshold then
    return nil
  end
  return alerts.format({ device = identity, severity = "critical",
                         message = string.format("%.1f C, above %g C", celsius, threshold) })
end

-- stats: Tsdb's aggregates {count, min, avg, max} (nil or count 0 when there were no readings).
function readings.summary(stats)
  if not stats or (tonumber(stats.count) or 0) == 0 then
    return "Daily summary: no readings"
  end
  return string.format("Daily summary: %d readings, min %.1f, avg %.1f, max %.1f C",
                       stats.count, stats.min, stats.avg, stats.max)
end

return readings
