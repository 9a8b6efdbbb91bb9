-- Device events (the connector calls handle_device2_event itself): keep the last one per
-- identity, then forward it to the applications.
if event.type == "data_in" then
  Keystore.set({ key = "last." .. event.identity, value = to_json(event) })
end
return Interface.trigger({ event = "event", data = event })
