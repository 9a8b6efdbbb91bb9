local out = Twilio.listCall()
response.message = out
