-- One-word headers: the alias is the file name (config).
--#EVENT service
-- expect: the service that changed
return service.service

--#EVENT fallback
-- expect: "unhandled " .. event.type
return "unhandled " .. tostring(event.type)
