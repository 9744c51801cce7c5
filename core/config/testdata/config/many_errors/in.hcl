collector_id = ""
interval     = "90s"
state_dir    = ""

log {
  level  = "verbose"
  format = "xml"
}

listen "netflow" {
  address        = "0.0.0.0"
  workers        = 0
  receive_buffer = "32 MiBs"
}
listen "ipfix" {
  address = "0.0.0.0:4739"
}
listen "sflow" {
  address = "0.0.0.0:4739"
}

metrics {
}

exporter "edge1" {
  address             = "192.0.2.1%eth0"
  sampling_rate       = 0
  force_sampling_rate = 1.5
  local_asn           = 4294967296
  records             = "egress"

  interface "transit" {
    role     = "transit"
    peer_asn = -1
    speed    = "100 Gbit"
    colour   = "blue"
  }
  interface "peering" {
    ifindex = "one"
    role    = "peer"
    speed   = "1.5"
  }
}

enrich "asnames" {
  config {
    anything = "goes here"
  }
}
enrich "asnames" {
  plugin = "enrich-asname"
  config {
    file = file("missing.txt")
  }
}

sink "db" {
  plugin = "../sink-postgres"
  queue {
    max_size = "lots"
    on_full  = "block"
  }
  config {
    dsn = env("LASTFLUSS_TEST_SURELY_UNSET")
  }
}
sink "db" {
  plugin = "sink-postgres"
}
