--#ENDPOINT POST /write
-- Writes to every service a reset must empty.
local name = request.body.name
Keystore.set({ key = "written", value = name })
Tsdb.write({ metrics = { temperature = 31 }, tags = { room = name } })
Device2.addIdentity({ identity = name })
Twilio.postMessage({ To = "+17635551234", From = "+15005550006", Body = "from " .. name })
return { ok = true }

--#ENDPOINT GET /written
return { written = Keystore.get({ key = "written" }).value or "nothing" }
