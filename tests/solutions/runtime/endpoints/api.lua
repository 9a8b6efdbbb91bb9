--#ENDPOINT GET /state
hits = (hits or 0) + 1
return {
  hits = hits, init_runs = INIT_RUNS, module_loads = MODULE_LOADS, ticks = ticks,
  service = context.service, tracking_id = context.tracking_id, shout = shout("hi"),
  twice = require("util").twice(21),
}

--#ENDPOINT POST /created
response = { code = 201, message = { id = request.body.name } }

--#ENDPOINT GET /slice
local list = setmetatable({}, { __type = "slice" })
return { empty = list, object = {}, text = json.stringify({ list = list }) }

--#ENDPOINT GET /secure/basic
--#SECURITY basic
return "basic ok"

--#ENDPOINT GET /secure/key
--#SECURITY apiKey
return "key ok"

--#ENDPOINT POST /form application/x-www-form-urlencoded
return { name = request.body.name, kind = type(request.body) }

--#ENDPOINT GET /call-handler
return handle_timer_timer({})

--#ENDPOINT GET /boom
log.error("bad thing", 7)
error("boom")
