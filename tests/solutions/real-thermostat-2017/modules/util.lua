thermo = {}
-- the latest value each alias reported, read back from Keystore
thermo.summary = function(sn)
  local setpoint = Keystore.get({key = "latest:" .. sn .. ":setpoint"})
  return {sn = sn, setpoint = setpoint.value}
end
