--#EVENT device2 data_in
-- A device reported: keep its latest values in Keystore under last:<identity>.
for _, point in ipairs(event.payload or {}) do
  Keystore.set({ key = "last:" .. event.identity, value = to_json(point.values or {}) })
end
