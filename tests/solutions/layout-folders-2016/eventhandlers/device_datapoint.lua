-- eventhandlers/<alias>_<event>.lua: device / datapoint; the argument is `data`.
return { alias = data.alias }
