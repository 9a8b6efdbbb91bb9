-- Lua-side tests of modules/readings.lua (never deployed: *_test.lua).
local readings = require("modules.readings")

function test_threshold_comes_from_the_environment()
  assert_equal(readings.threshold(), 30)   -- config.yaml env TEMP_ALERT_ABOVE
end

function test_only_a_reading_above_the_threshold_alerts()
  assert_nil(readings.alert("sensor-1", 30, 30))
  assert_equal(readings.alert("sensor-1", 30.5, 30), "CRIT sensor-1: 30.5 C, above 30 C")
end

function test_record_keeps_the_latest_value_and_the_history()
  readings.record("sensor-1", 19)
  murano_test.twilio.advance(60)          -- the one clock: a minute later (one point per time)
  readings.record("sensor-1", 22.5)
  assert_equal(Keystore.get({ key = "temperature:sensor-1" }).value, "22.5")
  local history = assert_ok(Tsdb.query({ metrics = { "temperature" }, tags = { identity = "sensor-1" } }))
  assert_equal(#history.values, 2)
end

function test_summary_with_and_without_readings()
  assert_equal(readings.summary(nil), "Daily summary: no readings")
  assert_equal(readings.summary({ count = 0 }), "Daily summary: no readings")
  assert_equal(readings.summary({ count = 3, min = 18, avg = 20.25, max = 23 }),
               "Daily summary: 3 readings, min 18.0, avg 20.2, max 23.0 C")
end

function test_the_alert_fits_one_sms_segment()
  local text = readings.alert("a-device-with-a-rather-long-identity-0123456789", 99.95, 30)
  local sent = assert_ok(Twilio.postMessage({ From = "+15005550006", To = "+15557654321", Body = text }))
  assert_equal(sent.num_segments, "1")
end
