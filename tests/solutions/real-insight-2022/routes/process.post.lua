--#ENDPOINT POST /process
return require('insight').process(request.body)
