--#ENDPOINT GET /status
return {open = #Websocket.list()}

--#ENDPOINT WEBSOCKET /rooms/{room}
--#SECURITY bearer
if websocketInfo.type == "open" then
  response.message = "room " .. websocketInfo.parameters.room .. " " .. tostring(websocketInfo.headers.authorization)
end
