-- A timer's message is stored where an endpoint can read it back.
Keystore.set{key = "reminded", value = request.message .. " @" .. os.time()}
