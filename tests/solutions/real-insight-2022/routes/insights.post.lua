--#ENDPOINT POST /insights
return require('insight').list(request)
