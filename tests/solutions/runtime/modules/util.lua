local util = {}
function util.twice(x)
  return x * 2
end
return util
