-- services/<alias>/<event>.lua: device2 event (the generic typed-event handler).
-- Returns the event type and the sum of its values; records them through two services.
local utils = require("c2c.utils")
Tsdb.write({ metrics = { seen = 1 }, tags = { identity = event.identity } })
murano.services.keystore.set({ key = "last", value = event.identity })
return { type = event.type, total = utils.sum(event.payload or {}) }
