--#ENDPOINT GET /users/{id}
-- expect (/users/7): {"label": "user #7"}
local format = require("text.format")
return { label = format.label("user", request.parameters.id) }
