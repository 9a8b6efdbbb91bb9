local strings = {}

function strings.reverse(s)
  return string.reverse(s)
end

return strings
