-- Runs before every endpoint script and once for the event handlers' shared context.
APP_PREFIX = "newer"
