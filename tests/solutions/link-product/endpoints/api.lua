--#ENDPOINT GET /subscribers
return Interface.listSubscribers()
