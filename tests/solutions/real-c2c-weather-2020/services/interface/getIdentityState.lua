return Device2.getIdentityState(operation)
