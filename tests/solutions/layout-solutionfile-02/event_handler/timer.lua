return { doubled = util.double(request.timer_id and 1 or 2) }
