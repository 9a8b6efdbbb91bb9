-- services/interface/<op>.lua: an Interface operation; its return is the call result.
return { doubled = Legacy.twice(operation.value or 0) }
