-- An exposed operation whose handler fails: the caller gets an error table.
error("the sensor is unplugged")
