-- Never deployed, never in the coverage report (*_test.lua).
local names = require("names")

function test_an_empty_name_is_a_stranger()
  assert_equal(names.greeting(""), "hello, stranger")
end
