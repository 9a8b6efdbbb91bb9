local format = {}

function format.label(kind, id)
  return kind .. " #" .. tostring(id)
end

return format
