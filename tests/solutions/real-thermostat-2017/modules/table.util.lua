-- adds helpers to the built-in table library, as 2017 solutions did
function table.contains(list, element)
  for _, value in pairs(list) do
    if value == element then return true end
  end
  return false
end

function table.find(list, element)
  for i, value in ipairs(list) do
    if value == element then return i end
  end
  return 0
end
