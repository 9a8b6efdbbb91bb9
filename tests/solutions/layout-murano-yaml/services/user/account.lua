-- services/user/account.lua: the user service's account event.
return { email = event.email }
