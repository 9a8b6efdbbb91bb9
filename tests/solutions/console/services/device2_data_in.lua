Keystore.set({ key = "reported", value = event.identity .. " " .. to_json(event.payload[1].values) })
