--#ENDPOINT GET /api/v1/double/{n}
-- expect (/api/v1/double/21): {"result": 42}
return { result = util.double(tonumber(request.parameters.n)) }

--#ENDPOINT GET /api/v1/reverse/{word}
-- expect (/api/v1/reverse/abc): "cba"
local strings = require("strings")
return strings.reverse(request.parameters.word)

--#ENDPOINT PUT /api/v1/store application/x-www-form-urlencoded
-- expect: {"stored": true}
return { stored = true }
