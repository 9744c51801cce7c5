listen "netflow" {
  address = "0.0.0.0:2055"
}

exporter "edge1" {
  address = "192.0.2.1"
  interface "transit" {
    ifindex = 1
    role    = "transit"
  }
}

exporter "edge1" {
  address = "192.0.2.2"
  interface "transit" {
    ifindex = 1
    role    = "transit"
  }
}
