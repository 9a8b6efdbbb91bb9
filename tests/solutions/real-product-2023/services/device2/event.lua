--#EVENT device2 event
log.debug('event in: ' .. to_json(event))
for _, entry in ipairs(event.payload or {}) do
  if entry.values['states'] ~= nil then
    entry.values['data_in'] = entry.values['states']
  end
  if entry.values['fields'] ~= nil then
    local names = from_json(entry.values['fields'])
    if type(names) == "table" then
      local channels = {}
      for _, name in ipairs(names) do
        channels[name] = {display_name = name, properties = {data_type = "NUMBER"}}
      end
      local config_io = to_json({channels = channels})
      entry.values['config_io'] = config_io
      Device2.setIdentityState({identity = event.identity, config_io = config_io})
    end
  end
end
return Interface.trigger({event = "event", data = event})
