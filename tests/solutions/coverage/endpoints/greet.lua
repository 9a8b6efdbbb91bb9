--#ENDPOINT GET /greet
-- Greets by name; a missing name is a 400.
local names = require("names")
local name = request.parameters.name

if name == nil then
  response.code = 400
  return "name required"
end
return names.greeting(name)
