--#EVENT sensors event
-- The product's Interface.trigger{event = "event", data = ...} for its subscriber "sensors".
local values = (event.payload or {})[1] and event.payload[1].values or {}
Keystore.set{key = "heard", value = event.type .. " " .. event.identity .. " " .. tostring(values.temperature)}
