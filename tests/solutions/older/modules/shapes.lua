local shapes = {}

function shapes.square(side)
  return side * side
end

return shapes
