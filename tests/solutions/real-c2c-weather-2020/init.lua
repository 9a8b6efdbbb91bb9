
-- Generate the callback token and url for the 3rd party cloud
require("c2c.authentication").setToken()
