-- Old-style global module: extends the table library for every script.
function table.contains(t, value)
  for _, v in ipairs(t) do
    if v == value then return true end
  end
  return false
end
