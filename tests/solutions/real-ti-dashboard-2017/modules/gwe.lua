-- Old-style global module: the gateway's own status fields (kept as short lists, not in Tsdb).
GWE = {
  Fields = { 'uptime', 'ifaces' }
}
