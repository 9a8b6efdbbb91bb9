--#ENDPOINT GET /insight/{fn}
return require('insight').one(request)
