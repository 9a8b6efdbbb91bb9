--#ENDPOINT GET /sync
return Scripts.trigger{event = "double", data = {n = tonumber(request.parameters.n)}}

--#ENDPOINT GET /async
local queued = Scripts.trigger{event = "remember", data = {note = request.parameters.note}, mode = "async"}
return {queued = queued, seen_now = Keystore.get{key = "note"}.value}

--#ENDPOINT GET /missing
return Scripts.trigger{event = "nothere"}

--#ENDPOINT GET /failing
return Scripts.trigger{event = "failing"}

--#ENDPOINT GET /runaway
Scripts.trigger{event = "spin"}
return "not reached"

--#ENDPOINT GET /note
return Keystore.get{key = "note"}

--#ENDPOINT GET /sandbox
return Scripts.sandbox{script = request.parameters.script, parameters = {x = 20, y = 22}}

--#ENDPOINT POST /product-event
return Interface.trigger{event = "event", data = {identity = "dev-7"}}

--#ENDPOINT GET /value/{key}
return Keystore.get{key = request.parameters.key}

--#ENDPOINT POST /subscribe/{id}
return Interface.setSubscriber{solution_id = request.parameters.id, alias = "app", parameters = {a = 1}}

--#ENDPOINT GET /subscribers
return Interface.listSubscribers()
