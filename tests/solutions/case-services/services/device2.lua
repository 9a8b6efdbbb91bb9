--#EVENT device2 data_in
for _, point in ipairs(event.payload) do
  for alias, value in pairs(point.values) do
    Keystore.set({key = event.identity .. ":" .. alias, value = value})
    Tsdb.write({metrics = {[alias] = tonumber(value)}, tags = {identity = event.identity}})
  end
end
