-- 2016 style: modules were loaded into every script; this one defines a global table.
util = {}

function util.double(n)
  return n * 2
end
