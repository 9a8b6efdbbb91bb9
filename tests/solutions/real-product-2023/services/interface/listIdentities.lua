return require("interfaceOverload").listIdentities(operation)
