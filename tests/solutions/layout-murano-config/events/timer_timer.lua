return { status = require("fmt").status("tick", 1) }
