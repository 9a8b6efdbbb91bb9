-- A module: plain Lua, loaded with require("greeting").
local greeting = {}

function greeting.greet(name)
  return string.format("%s, %s!", os.getenv("GREETING") or "Hello", name)
end

return greeting
