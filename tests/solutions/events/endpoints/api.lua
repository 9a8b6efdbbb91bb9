--#ENDPOINT POST /remind
local armed = Timer.sendAfter{message = request.body.text, duration = 5000, timer_id = "reminder"}
return armed

--#ENDPOINT GET /value/{key}
return Keystore.get{key = request.parameters.key}

--#ENDPOINT POST /configure
return Config.setParameters{service = "keystore", parameters = {note = request.body.note}}

--#ENDPOINT POST /devices/{id}
return Device2.addIdentity{identity = request.parameters.id}
