--#EVENT device datapoint
-- a thermostat reported a value: keep the latest per device and alias
print(data.alias, data.value[2])
Keystore.set({key = "latest:" .. data.device_sn .. ":" .. data.alias, value = data.value[2]})
