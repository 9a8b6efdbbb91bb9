-- Typed device2 events, several headers in one file.
--#EVENT device2 data_in
return { identity = event.identity, kind = "data_in" }

--#EVENT device2 provisioned
return { identity = event.identity, kind = "provisioned" }
