--#ENDPOINT get /device/{sn}
local data = Tsdb.query{
  tags = {sn = request.parameters.sn},
  metrics = {'setpoint', 'heating'},
  fill = 0,
  limit = 3,
  sampling_size = '5m',
}
if request.parameters.raw ~= nil then return data end
return {
  columns = data.columns,
  setpoint_column = table.find(data.columns, 'setpoint'),
  knows_heating = table.contains(data.columns, 'heating'),
  rows = #data.values,
}
