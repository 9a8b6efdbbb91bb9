-- Declared by header: the device2 service's data_in event.
--#EVENT device2 data_in
last_identity = event.identity
return { identity = event.identity, ticks = ticks, prefix = APP_PREFIX }
