--#ENDPOINT GET /v1/dashboard
local got = Keystore.get{key = 'dashboard.' .. (request.parameters.id or '0')}
response.headers['content-type'] = 'application/json'
response.message = got.value or '{}'
