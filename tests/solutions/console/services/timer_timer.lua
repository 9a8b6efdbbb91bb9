Keystore.set({ key = "fired", value = tostring(request.message.note) })
