local M = {functions = {}, about = {name = 'unnamed'}}

local function slice(t) return setmetatable(t or {}, {['__type'] = 'slice'}) end

function M.describe(about) M.about = about end

function M.register(id, details)
  details.inlets = slice(details.inlets)
  details.constants = slice(details.constants)
  M.functions[id] = details
end

function M.info() return M.about end

function M.list(request)
  log.debug(to_json(request))
  local out = slice({})
  for id, details in pairs(M.functions) do
    table.insert(out, {id = id, name = details.name, inlets = details.inlets, constants = details.constants})
  end
  table.sort(out, function(a, b) return a.id < b.id end)
  return {count = #out, insights = out}
end

function M.one(request)
  local id = (request.parameters or {}).fn
  local found = M.functions[id]
  if found == nil then
    return nil, {name = 'Not Implemented', message = 'Function "' .. tostring(id) .. '" is not implemented'}
  end
  return {id = id, name = found.name}
end

local function metric(id, suffix) return string.gsub(id, '[^%w_]', '') .. '_' .. suffix end

local function prior(id)
  local result = Tsdb.query({mode = 'split', epoch = 'u', limit = 1, metrics = {metric(id, 'A')}, relative_start = '-999w'})
  local series = (result.values or {})[metric(id, 'A')] or {}
  return (series[1] or {})[2]
end

function M.process(request)
  local id = request.id or '_'
  local found = M.functions[(request.args or {}).function_id]
  if found == nil then
    return nil, {name = 'Not Implemented', message = 'unknown function'}
  end
  local before = prior(id)
  local out, writes = slice({}), {}
  for _, point in ipairs(request.data or {}) do
    table.insert(out, {ts = point.ts, value = found.fn(point.value, request.args.constants or {}, before)})
    table.insert(writes, {metrics = {[metric(id, 'A')] = point.value}, ts = point.ts})
  end
  if next(writes) ~= nil then Tsdb.multiWrite({datapoints = writes}) end
  return slice({out})
end

return M
