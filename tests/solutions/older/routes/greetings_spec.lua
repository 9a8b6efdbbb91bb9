--#ENDPOINT GET /greet/{name}
return "a spec file is never deployed, so this duplicate route is not one"
