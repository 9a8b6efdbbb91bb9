--#ENDPOINT GET /draft
return "excluded by the routes section"
