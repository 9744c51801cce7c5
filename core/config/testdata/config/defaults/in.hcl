# Every optional attribute and block left out: the output shows the defaults.
listen "netflow" {
  address = ":2055"
}

exporter "edge1" {
  address = "::ffff:192.0.2.1" # IPv4-mapped: normalised to 192.0.2.1

  interface "transit" {
    ifindex = 1
    role    = "transit"
  }
}

sink "db" {
  plugin = "sink-postgres"
}
