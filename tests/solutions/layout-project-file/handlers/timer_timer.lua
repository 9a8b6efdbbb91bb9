ticks = (ticks or 0) + 1
return { ticks = ticks }
