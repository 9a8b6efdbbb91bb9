-- no return: runs at every VM load and registers the insight's functions
local I = require('insight')

I.describe({name = 'Demo insight', description = 'adds, and averages with the prior value'})

I.register('adder', {
  name = 'Adder',
  constants = {{name = 'value', type = 'number'}},
  inlets = {{name = 'Signal', primitive_type = 'NUMERIC'}},
  fn = function(value, constants) return value + constants.value end,
})

I.register('smooth', {
  name = 'Smooth',
  fn = function(value, _, before)
    if before then return (value + before) / 2 end
    return value
  end,
})
