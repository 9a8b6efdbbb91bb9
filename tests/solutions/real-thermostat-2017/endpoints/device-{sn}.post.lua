--#ENDPOINT post /device/{sn}
-- the app sets a thermostat: the device is written, and the setting kept as a time series
local sn = tostring(request.parameters.sn)
local pid = Config.solution().products[1]
local out = {}
out.device = Device.write{pid = pid, device_sn = sn, setpoint = request.body.setpoint}
local written = Tsdb.write{tags = {sn = sn}, metrics = {setpoint = request.body.setpoint, heating = request.body.heating}}
if written ~= nil and written.error ~= nil then out.tsdb = written end
return out
