
-- Poll the 3rd party; services/timer.yaml sets the interval
require("c2c.cloud2murano").syncAll()
