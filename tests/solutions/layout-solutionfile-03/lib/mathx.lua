local mathx = {}

function mathx.square(n)
  return n * n
end

return mathx
