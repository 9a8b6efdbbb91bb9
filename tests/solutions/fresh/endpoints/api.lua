--#ENDPOINT GET /counter
counter = (counter or 0) + 1
return { counter = counter, greeting = GREETING }
