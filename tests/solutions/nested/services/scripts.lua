--#EVENT scripts double
return {doubled = data.n * 2, caller = context.caller_id}

--#EVENT scripts remember
Keystore.set{key = "note", value = data.note}

--#EVENT scripts failing
error("handler broke")

--#EVENT scripts spin
while true do end
