--#ENDPOINT GET /api/shout/{word}
--#TAGS text
--#SECURITY apiKey
-- expect (/api/shout/hello): "HELLO!"
return require("c2c.utils").shout(request.parameters.word)
