--#ENDPOINT WEBSOCKET /chat
-- Echoes every message, keeps a per-socket count in the hot VM, and answers a few commands.
seen = seen or {}
local id = websocketInfo.socket_id
if websocketInfo.type == "open" then
  seen[id] = 0
  return to_json({hello = id, route = websocketInfo.route, who = websocketInfo.parameters.who,
                  same = websocket_info == websocketInfo})
elseif websocketInfo.type == "close" then
  local ok, err = pcall(websocketInfo.send, "too late")
  Keystore.set({key = "closed:" .. id, value = tostring(ok) .. " " .. tostring(err)})
  return "ignored"
end
seen[id] = seen[id] + 1
local text = websocketInfo.message
if websocketInfo.message_type == "data-binary" then
  response.message = "binary " .. text
elseif text == "extra" then
  websocketInfo.send("first")
  websocketInfo.send({n = 2})
  response.message = "last"
elseif text == "bye" then
  websocketInfo.close()
  return "goodbye"
elseif text == "count" then
  return tostring(seen[id])
elseif text == "list" then
  local sockets = Websocket.list()
  local info = Websocket.info({socket_id = id})
  return to_json({count = #sockets, route = info.route, id = info.socket_id})
elseif text == "silent" then
  return nil
elseif text == "boom" then
  error("boom")
elseif text:sub(1, 5) == "tell " then
  -- tell <socket_id> <text>: another socket, through the service
  local other, said = text:match("^tell (%w+) (.*)$")
  local sent = Websocket.send({socket_id = other, message = said})
  return to_json(sent)
elseif text:sub(1, 5) == "kill " then
  return to_json(Websocket.close({socket_id = text:sub(6)}))
elseif text == "closeAll" then
  return tostring(Websocket.closeAll())
else
  return "echo " .. text
end
