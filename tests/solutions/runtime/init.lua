-- Runs once per fresh state (first load, reset), never on a reload.
INIT_RUNS = (INIT_RUNS or 0) + 1
