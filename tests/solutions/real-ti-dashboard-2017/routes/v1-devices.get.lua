--#ENDPOINT GET /v1/devices
local sns = Keystore.command{ key = 'serialNumbers', command = 'smembers', args = {} }
local out = {}
for _, sn in ipairs(sns.value or {}) do
  local up = Keystore.command{ key = 'uptime.' .. string.gsub(sn, '[^%w@.-]', '-'), command = 'lrange', args = {0, -1} }
  out[sn] = { uptime = up.value }
end
return out
