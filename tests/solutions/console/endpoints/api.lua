--#ENDPOINT GET /greeting
-- What the console's Keystore editor wrote.
local got = Keystore.get({ key = "greeting" })
return { greeting = got.value }

--#ENDPOINT POST /remind
-- Arms a timer; its handler records the note in Keystore.
log.info("arming a reminder")
return Timer.sendAfter({ duration = 60000, message = { note = request.body.note }, timer_id = "reminder" })

--#ENDPOINT GET /fired
return { fired = Keystore.get({ key = "fired" }).value }

--#ENDPOINT POST /sms
-- Twilio's inbound-SMS webhook: answers with TwiML.
log.warn("sms from " .. tostring(request.body.From))
response.headers["content-type"] = "text/xml"
return "<Response><Message>You said: " .. tostring(request.body.Body) .. "</Message></Response>"

--#ENDPOINT POST /reading
Tsdb.write({ metrics = { temperature = tonumber(request.body.value) }, tags = { room = "lab" } })
return { ok = true }

--#ENDPOINT GET /boom
local nothing = nil
return nothing.field

--#ENDPOINT POST /call
-- Calls a phone; when it answers, Twilio fetches the menu below.
return Twilio.createCall({ To = request.body.to, From = "+15005550006", Url = request.body.menu })

--#ENDPOINT POST /voice
-- The menu waits a minute for a key (Twilio's default is 5 s), however slowly a browser test presses it.
response.headers["content-type"] = "text/xml"
return '<Response><Gather numDigits="1" timeout="60" action="/voice/choice"><Say>Press 1 for sales.</Say></Gather></Response>'

--#ENDPOINT POST /voice/choice
Keystore.set({ key = "pressed", value = request.body.Digits })
response.headers["content-type"] = "text/xml"
return "<Response><Say>You pressed " .. tostring(request.body.Digits) .. ".</Say></Response>"

--#ENDPOINT GET /pressed
return { pressed = Keystore.get({ key = "pressed" }).value }
