-- Several endpoints in one file, with the 2019+ annotations.

--#ENDPOINT GET /api/sum
--#TAGS math public
--#SECURITY none
--#RATELIMIT 60
--#SUMMARY Adds 1 to 4
--#DESCRIPTION Uses the c2c.utils module.
-- expect: {"sum": 10}
local utils = require("c2c.utils")
return { sum = utils.sum({ 1, 2, 3, 4 }) }

--#ENDPOINT post /api/describe application/json
--#TAGS math
--#SECURITY bearer
-- expect (body [2, 3, 5]): {"count": 3, "total": 10}
local configIO = require("vendor.configIO")
return configIO.describe(request.body)

--#ENDPOINT GET /api/legacy
-- expect: {"version": 3, "twice": 14, "prefixed": 10}
local prefixed = require("modules.c2c.utils")
return { version = Legacy.version, twice = Legacy.twice(7), prefixed = prefixed.sum({ 4, 6 }) }

--#ENDPOINT WEBSOCKET /api/live
-- A websocket endpoint: listed, matched by path apart from HTTP routes.
response.message = "echo: " .. tostring(websocketInfo.message)
