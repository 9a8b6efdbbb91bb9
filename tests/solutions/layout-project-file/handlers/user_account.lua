-- user_account.lua: user / account.
return { email = event.email }
