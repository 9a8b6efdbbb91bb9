-- A newer-style module: loaded with require("modules.util"), it returns its table.
local util = {}

function util.greet(name)
  return "hello " .. tostring(name)
end

return util
