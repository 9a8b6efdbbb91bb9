-- An older-style module: it defines a global table every script can use.
Greeter = {}

function Greeter.greet(name)
  return "hi " .. name
end
