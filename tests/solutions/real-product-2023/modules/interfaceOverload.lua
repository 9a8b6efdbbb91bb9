local overload = {}

local function channels_of(fields)
  local names = from_json(fields)
  if type(names) ~= "table" then return nil end
  return to_json({count = #names})
end

function overload.getIdentity(operation)
  local found = Device2.getIdentity(operation)
  if found.error then return found end
  if found.state.fields ~= nil then
    found.state.summary = channels_of(found.state.fields.reported or found.state.fields.set)
  end
  return found
end

function overload.getIdentityState(operation)
  return Device2.getIdentityState(operation)
end

function overload.listIdentities(operation)
  local listed = Device2.listIdentities(operation)
  if listed.error or not next(listed.devices) then return listed end
  return listed
end

function overload.setIdentityState(operation)
  if operation.data_out ~= nil then
    local wanted = from_json(operation.data_out)
    if wanted ~= nil then
      operation.action = to_json({data = wanted, id = 'app', request = 'set'})
    end
  end
  return Device2.setIdentityState(operation)
end

return overload
