return { square = require("mathx").square(3) }
