local fmt = {}

function fmt.status(word, checks)
  return string.format("%s (%d checks)", word, checks)
end

return fmt
