-- A module that requires another one by its plain name.
local utils = require("c2c.utils")
local configIO = {}

function configIO.describe(values)
  return { count = #values, total = utils.sum(values) }
end

return configIO
