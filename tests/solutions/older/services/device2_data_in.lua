seen = (seen or 0) + 1
return { seen = seen, greeting = Greeter.greet(event.identity) }
