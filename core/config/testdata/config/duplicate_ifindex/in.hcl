listen "netflow" {
  address = "0.0.0.0:2055"
}

exporter "edge1" {
  address = "192.0.2.1"

  interface "transit-cogent" {
    ifindex = 531
    role    = "transit"
  }
  interface "ix-decix" {
    ifindex = 531
    role    = "ix"
  }
}

# The same ifindex on another exporter is another interface.
exporter "edge2" {
  address = "192.0.2.2"

  interface "transit-cogent" {
    ifindex = 531
    role    = "transit"
  }
}
