-- device datapoint (Solutionfile map): the argument is `data`.
return { alias = data.alias, value = data.value[2] }
