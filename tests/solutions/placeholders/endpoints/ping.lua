--#ENDPOINT GET /ping
-- expect: {"pong": "PING"}
return { pong = require("words").upper("ping") }
