for _, point in ipairs(event.payload or {}) do
  for alias, value in pairs(point.values) do
    Keystore.set{key = event.identity .. "." .. alias, value = value}
  end
end
