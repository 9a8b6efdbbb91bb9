-- An old-style module: no return, it defines a global every script sees.
Legacy = { version = 3 }

function Legacy.twice(n)
  return n * 2
end
