listen "netflow" {
  address = "0.0.0.0:2055"
}

exporter "edge1" {
  address = "192.0.2.300"
}

exporter "edge2" {
  address = "edge2.example.net"
}
