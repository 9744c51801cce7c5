# Converted by `lastfluss import-v1` from the first Lastfluss's settings.yaml
# and interfaces.yaml. Check it with `lastfluss check -config FILE`.
# collector_id defaults to this machine's host name; plugin_dir to the plugins
# beside the lastfluss binary; state_dir (queues, templates) to ./var.

# aggregation.period was 70 seconds; Lastfluss's interval must divide one hour,
# so it is the largest that does. Rows are stamped with their interval's start.
interval = "1m"

# The first Lastfluss decoded NetFlow v9 only; this socket takes v5, v9 and IPFIX.
# Add a listen "sflow" block for sFlow exporters.
listen "netflow" {
  address = ":2055" # netflow.address
}

exporter "router-10-0-0-1" {
  address = "10.0.0.1" # host

  interface "uplink" {
    ifindex = 3       # id
    role    = "other" # no role hint in the name (IX, PNI, internet exchange, peering, transit)
    # set transit, peering, ix, pni, customer or core where you know it
    # no sample: the rate the router announces is used, else 1
  }
}

# The first Lastfluss's database: its traffic table is taken over in place
# (new columns added, every row kept; see plugins/sink-postgres/README.md).
sink "db" {
  plugin = "sink-postgres"
  config {
    dsn = "dbname='lastfluss'"
    # aggregation.period: bytes of the old rows are bandwidth × period / 8
    legacy_interval = "70s"
  }
}
