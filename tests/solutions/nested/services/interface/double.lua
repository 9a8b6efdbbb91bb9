-- An exposed operation: a subscriber calls it; the return value is its reply.
return {doubled = operation.n * 2, caller = context.caller_id}
