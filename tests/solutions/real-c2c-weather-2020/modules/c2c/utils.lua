
local utils = {}

-- Device2 timestamps are microseconds; the 3rd party sends seconds or milliseconds.
function utils.getTimestamp(timestamp)
  if type(timestamp) ~= "number" then return os.now() * 1000 end
  if timestamp < 100000000000 then return timestamp * 1000000 end
  if timestamp < 100000000000000 then return timestamp * 1000 end
  return timestamp
end

return utils
