-- you need to provide a url that has the predefined TwiML files -- for reference - https://www.twilio.com/docs/api/twiml
local out = Twilio.createCall({
From = "+15555555550",
To = "+15555555555",
Url = "https://your-app-example.apps.exosite.io/twiml"
})
response.message = out
