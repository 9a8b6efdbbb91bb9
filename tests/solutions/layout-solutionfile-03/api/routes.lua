--#ENDPOINT GET /square/{n}
-- expect (/square/9): {"square": 81}
local mathx = require("mathx")
return { square = mathx.square(tonumber(request.parameters.n)) }

--#ENDPOINT Delete /square
-- expect: "nothing to delete"
return "nothing to delete"
