-- A modern module: require("c2c.utils") returns its table.
local utils = {}

function utils.sum(list)
  local total = 0
  for _, n in ipairs(list) do
    total = total + n
  end
  return total
end

function utils.shout(text)
  return string.upper(text) .. "!"
end

return utils
