-- An exposed operation that triggers an event while its caller's execution is still running.
Interface.trigger{event = "event", data = {type = "announce", identity = operation.identity}}
return "announced"
