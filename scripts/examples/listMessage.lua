local list = Twilio.listMessage()
response.message = list
