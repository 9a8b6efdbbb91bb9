local words = {}

function words.upper(s)
  return string.upper(s)
end

return words
