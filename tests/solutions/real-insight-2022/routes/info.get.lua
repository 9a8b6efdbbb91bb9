--#ENDPOINT GET /info
return require('insight').info()
