--#ENDPOINT GET /reading/{id}
return Sensors.getReading{identity = request.parameters.id}

--#ENDPOINT GET /failing
return Sensors.failing{}

--#ENDPOINT GET /heard
return Keystore.get{key = "heard"}

--#ENDPOINT GET /me
return Config.solution().id

--#ENDPOINT POST /announce/{id}
local answer = Sensors.announce{identity = request.parameters.id}
return {answer = answer, heard_meanwhile = Keystore.get{key = "heard"}.value or "nothing"}
