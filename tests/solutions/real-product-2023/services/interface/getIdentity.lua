return require("interfaceOverload").getIdentity(operation)
