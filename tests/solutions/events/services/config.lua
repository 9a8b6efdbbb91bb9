--#EVENT service
Keystore.set{key = "changed", value = service.service .. " " .. service.action}

--#EVENT fallback
Keystore.set{key = "unhandled", value = context.service .. " " .. context.event}
