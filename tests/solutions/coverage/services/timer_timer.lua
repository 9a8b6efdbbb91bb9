--#EVENT timer timer
-- Counts the days.
local n = tonumber((Keystore.get({ key = "days" }) or {}).value) or 0
Keystore.set({ key = "days", value = n + 1 })
if n > 100 then
  print("many days")
end
