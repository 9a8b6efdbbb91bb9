return Device2.listIdentities(operation)
