return { type = event.type, identity = event.identity, data = type(data), request = type(request) }
