return { original = context.service .. " " .. context.event, payload = event }
