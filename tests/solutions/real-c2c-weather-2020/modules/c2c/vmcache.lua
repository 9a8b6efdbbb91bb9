-- A value cache kept in the VM: it only helps when the HotVM setting (Config reuse_vm) is on.
local values = {}

return function(name, compute)
  if values[name] == nil then values[name] = compute() end
  return values[name]
end
