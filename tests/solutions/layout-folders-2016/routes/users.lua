-- 2016 style: lower-case methods, modules that define globals, no require.
--#ENDPOINT get /users/{name}
-- expect (/users/ada): {"user": "ada", "admin": false}
return UserUtil.describe(request.parameters.name)

--#ENDPOINT get /admins
-- expect: {"admins": ["root"], "has_root": true}
local admins = { "root" }
return { admins = admins, has_root = table.contains(admins, "root") }

--#ENDPOINT post /users application/x-www-form-urlencoded
-- expect: {"created": true}
return { created = true }
