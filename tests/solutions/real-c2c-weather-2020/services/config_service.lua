-- A service configuration changed: when it is the weather service, count it and resync.
if service.service == "weatherapi" and (service.action == "added" or service.action == "updated") then
  Keystore.command({ key = "config.changes", command = "incrby", args = { 1 } })
  require("c2c.cloud2murano").syncAll()
end
