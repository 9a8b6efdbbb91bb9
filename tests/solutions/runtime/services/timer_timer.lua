ticks = (ticks or 0) + 1
return { ticks = ticks, argument = type(request), event = type(event), service = context.service }
