return require("interfaceOverload").setIdentityState(operation)
