--#ENDPOINT get /device
-- every thermostat of the product with its latest readings
local solution = Config.solution()
if #solution.products == 0 then
  response.code = 500
  response.message = 'no product'
  return
end
local listed = Device.list{pid = solution.products[1], offset = tonumber(request.parameters.offset)}
local response = setmetatable({}, {['__type'] = 'slice'})
for _, device in pairs(listed) do
  table.insert(response, thermo.summary(device.sn))
end
return response
