-- Runs once per fresh state, like a deploy.
init_runs = (init_runs or 0) + 1
