-- Named <service>_<event>.lua: the timer service's timer event.
ticks = (ticks or 0) + 1
print("tick " .. ticks)
return { ticks = ticks, last_identity = last_identity }
