return require("interfaceOverload").getIdentityState(operation)
