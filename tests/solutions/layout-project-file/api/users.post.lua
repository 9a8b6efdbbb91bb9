--#ENDPOINT POST /users text/plain
-- expect (body "ada"): "created user #ada"
local format = require("text.format")
return "created " .. format.label("user", request.body)
