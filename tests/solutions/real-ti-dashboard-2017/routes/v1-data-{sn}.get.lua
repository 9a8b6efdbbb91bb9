--#ENDPOINT GET /v1/data/{sn}
-- Timeseries data for one device: every metric, the latest ten rows.
local identifier = request.parameters.sn

local metrics = Tsdb.listMetrics()

local out = Tsdb.query{
  tags = {sn = identifier},
  metrics = metrics.metrics,
  limit = 10,
  epoch = 'ms',
}

return out
