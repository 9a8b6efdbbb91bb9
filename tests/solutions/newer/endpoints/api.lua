-- The sample solution's API (newer layout). Several endpoints per file, each after its header.

--#ENDPOINT GET /users/{id}
local util = require("modules.util")
return {
  id = request.parameters.id,
  sort = request.parameters.sort,
  route = request.route,
  method = request.method,
  greeting = util.greet(request.parameters.id),
  prefix = APP_PREFIX,
}

--#ENDPOINT POST /users
local request, response = ...
if type(request.body) ~= "table" then
  response.code = 400
  return "expected a JSON object"
end
response.code = 201
response.message = { created = request.body.name, tags = request.body.tags }

--#ENDPOINT GET /hello
return "hello " .. (request.parameters.name or "world")

--#ENDPOINT POST /page text/plain
return "<h1>" .. tostring(request.body) .. "</h1>"

--#ENDPOINT GET /custom
response.code = 202
response.headers["x-murano"] = "yes"
response.headers["content-type"] = "application/xml"
response.message = "<ok/>"

--#ENDPOINT GET /fail
print("about to fail")
local reason = "database exploded"
error(reason)

--#ENDPOINT GET /counter
counter = (counter or 0) + 1
return { counter = counter }

--#ENDPOINT GET /files/{rest*}
return { rest = request.parameters.rest }

--#ENDPOINT GET /shared
return { ticks = ticks, last_identity = last_identity }
