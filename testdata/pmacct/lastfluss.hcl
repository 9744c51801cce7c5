# Lastfluss for the manual check; run.sh fills in @PLUGIN_DIR@, @LF@, @METRICS@, @OUT@.
collector_id = "pmacct-check"
interval     = "10s"
plugin_dir   = "@PLUGIN_DIR@"
state_dir    = "var"

listen "netflow" {
  address = "@LF@"
}
metrics {
  address = "@METRICS@"
}
sink "jsonl" {
  plugin = "sink-jsonl"
  config {
    path = "@OUT@"
  }
}

# pmacctd's nfprobe and softflowd export from 127.0.0.1 and announce no
# sampling rate (Lastfluss assumes 1 and warns).
exporter "probe" {
  address   = "127.0.0.1"
  local_asn = 64500

  interface "peer-64501" {
    ifindex = 5
    role    = "peering"
  }
  interface "transit" {
    ifindex = 6
    role    = "transit"
  }
  # ifIndex 7 is not declared on purpose: its traffic is unclassified.
}
