-- device2 data_in, mapped by the Solutionfile: the argument is `event`.
return { identity = event.identity }
