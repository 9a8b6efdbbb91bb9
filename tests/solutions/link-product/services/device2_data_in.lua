-- A device writes: the product keeps the reading and tells its subscribers.
for _, point in ipairs(event.payload or {}) do
  if point.values.temperature ~= nil then
    Keystore.set{key = "reading." .. event.identity, value = point.values.temperature}
  end
end
Interface.trigger{event = "event", data = event}
