-- Run once after deployment: store the default dashboard.
print("Begin initialization.")

local default_dashboard = [[
{
  "columns": 3,
  "datasources": [{"name": "board", "settings": {"url": "/v1/data/00:11:22:33:44:55", "refresh": 3}}],
  "version": 1
}
]]

local parsed, err = from_json(default_dashboard)
if err == nil then
  Keystore.set{key = 'dashboard.0', value = to_json(parsed)}
  print("End initialization.")
else
  print("Initialization ERROR! " .. tostring(err))
end
