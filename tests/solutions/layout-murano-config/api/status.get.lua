--#ENDPOINT GET /status
-- expect: {"status": "ok (2 checks)"}
local fmt = require("fmt")
return { status = fmt.status("ok", 2) }
