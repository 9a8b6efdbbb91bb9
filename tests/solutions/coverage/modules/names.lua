-- Greetings by name.
local names = {}

function names.greeting(name)
  if name == "" then
    return "hello, stranger"
  end
  return "hello, " .. name
end

function names.unused()
  return 0
end

return names
