-- websocket_websocket_info.lua: websocket / websocket_info (the known alias wins the split).
return websocketInfo.message
