--#ENDPOINT GET /visits
-- A solution that uses Keystore only (tests/test_service_removal.py serves it with other services removed).
local visits = (tonumber(Keystore.get{key = "visits"}.value) or 0) + 1
Keystore.set{key = "visits", value = tostring(visits)}
return {visits = visits}
