-- Lua-side tests (never deployed: *_test.lua). Each global test_* function is one pytest test,
-- run in a fresh Murano environment with the local Twilio emulator behind `Twilio`.
local alerts = require("modules.alerts")

function test_format_critical_alert()
  assert_equal(alerts.format({ device = "pump-7", severity = "critical", message = "pressure low" }),
    "CRIT pump-7: pressure low")
end

function test_format_defaults_to_info_without_details()
  assert_equal(alerts.format({ device = "pump-7" }), "INFO pump-7: no details")
end

function test_format_refuses_unknown_severity()
  local text, problem = alerts.format({ device = "pump-7", severity = "apocalyptic" })
  assert_nil(text)
  assert_match(problem, "^unknown severity")
end

function test_format_keeps_alerts_to_one_segment()
  local text = alerts.format({ device = "pump-7", message = string.rep("x", 300) })
  assert_equal(#text, 160)
  assert_match(text, "%.%.%.$")
end

function test_formatted_alert_sends_as_one_segment()
  local sent = assert_ok(Twilio.postMessage({
    From = "+15005550006",
    To = "+15557654321",
    Body = alerts.format({ device = "pump-7", message = string.rep("x", 300) }),
  }))
  assert_table_contains(sent, { status = "queued", num_segments = "1" })
end

-- murano_test.twilio drives the emulator, like the Python `twilio` fixture.
function test_a_refused_send_leaves_no_message_and_the_next_one_is_delivered()
  local body = alerts.format({ device = "pump-7", severity = "critical", message = "pressure low" })
  local message = { From = "+15005550006", To = "+15557654321", Body = body }
  murano_test.twilio.fail_next(503)
  assert_equal(Twilio.postMessage(message).status, 503)
  assert_equal(#murano_test.twilio.messages(), 0)

  local sid = assert_ok(Twilio.postMessage(message)).sid
  murano_test.twilio.advance(3)
  assert_table_contains(Twilio.getMessage({ MessageSid = sid }), { status = "delivered", body = body })
end
