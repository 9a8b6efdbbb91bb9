-- An exposed operation: the application calls it as Sensors.getReading{identity = ...}.
local reading = Keystore.get{key = "reading." .. operation.identity}
return {identity = operation.identity, value = reading.value, caller = context.caller_id}
