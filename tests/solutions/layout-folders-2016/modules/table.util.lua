-- Extends a built-in table, as 2016 solutions did.
function table.contains(t, value)
  for _, v in ipairs(t) do
    if v == value then
      return true
    end
  end
  return false
end
