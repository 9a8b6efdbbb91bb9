-- The older layout: routes/ and modules that define global tables.
--#ENDPOINT GET /greet/{name}
return Greeter.greet(request.parameters.name)

--#ENDPOINT GET /required
local shapes = require("modules.shapes")
return { area = shapes.square(3), greeting = Greeter.greet("required") }
