collector_id = "fra1"
interval     = "1m"
plugin_dir   = "../bin/plugins"
state_dir    = "../var"

listen "netflow" {                 # v5, v9 and IPFIX on one socket, told apart by version
  address        = "0.0.0.0:2055"
  workers        = 2               # default: CPUs
  receive_buffer = "32MiB"
}
listen "sflow" {
  address = "0.0.0.0:6343"
}
control {
  socket = "../var/lastfluss.sock"
}
metrics {
  address = "127.0.0.1:9155"       # Prometheus /metrics
}

exporter "edge1-fra" {
  address       = "192.0.2.1"
  sampling_rate = 1000             # when the exporter announces none
  local_asn     = 64500
  records       = "ingress"        # or "both"

  interface "transit-cogent" {
    ifindex  = 531
    role     = "transit"           # transit, peering, ix, pni, customer, core, other
    peer_asn = 174                 # for display
    speed    = "100G"              # bit/s, SI suffixes accepted
  }
  interface "ix-decix" {
    ifindex = 612
    role    = "ix"
  }
}

enrich "asnames" {
  plugin = "enrich-asname"
  config {
    file = "asnames.txt"
  }
}

sink "db" {
  plugin = "sink-postgres"
  config {
    dsn = env("LASTFLUSS_DSN")
  }
}
