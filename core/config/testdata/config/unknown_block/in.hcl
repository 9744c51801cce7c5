listen "netflow" {
  address = "0.0.0.0:2055"
}

exporters "edge1" {
  address = "192.0.2.1"
}

enrich "asnames" {
  plugin = "enrich-asname"
  queue {
    max_size = "1GiB"
  }
}
