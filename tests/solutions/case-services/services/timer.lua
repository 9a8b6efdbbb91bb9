--#EVENT timer timer
Keystore.set({key = "timer", value = request.message})
