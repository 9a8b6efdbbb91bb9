-- a device wrote one of its resources (Device v1 "datapoint"): keep it in the lock's hash
util.saveLockState(data.device_sn, {data.alias, data.value[2], 'seen_at', data.timestamp})
