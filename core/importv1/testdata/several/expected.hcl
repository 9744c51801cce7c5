# Converted by `lastfluss import-v1` from the first Lastfluss's settings.yaml
# and interfaces.yaml. Check it with `lastfluss check -config FILE`.
# collector_id defaults to this machine's host name; plugin_dir to the plugins
# beside the lastfluss binary; state_dir (queues, templates) to ./var.

interval = "5m" # aggregation.period: 300 seconds
# logging.file "/var/log/importer.log" is not used: Lastfluss logs to stderr (the journal under systemd).

# The first Lastfluss decoded NetFlow v9 only; this socket takes v5, v9 and IPFIX.
# Add a listen "sflow" block for sFlow exporters.
listen "netflow" {
  address = "192.0.2.10:9995" # netflow.address
  workers = 2                 # netflow.threads
}

exporter "router-192-0-2-1" {
  address = "192.0.2.1" # host

  interface "Transit Cogent" {
    ifindex       = 531       # id
    role          = "transit" # the name contains "transit"
    sampling_rate = 1000      # sample; when the router announces a wrong rate, use force_sampling_rate
  }

  interface "DE-CIX Frankfurt IX" {
    ifindex       = 612  # id
    role          = "ix" # the name contains "IX"
    sampling_rate = 1000 # sample; when the router announces a wrong rate, use force_sampling_rate
  }

  interface "customer uplink" {
    ifindex = 700     # id
    role    = "other" # no role hint in the name (IX, PNI, internet exchange, peering, transit)
    # set transit, peering, ix, pni, customer or core where you know it
    sampling_rate = 1000 # sample; when the router announces a wrong rate, use force_sampling_rate
  }
}

exporter "router-2001-db8--1" {
  address = "2001:db8::1" # host

  interface "PNI Google" {
    ifindex       = 7     # id
    role          = "pni" # the name contains "PNI"
    sampling_rate = 2048  # sample; when the router announces a wrong rate, use force_sampling_rate
  }

  interface "private peering \"acme\" $${x}" {
    ifindex = 8         # id
    role    = "peering" # the name contains "peering"
    # no sample: the rate the router announces is used, else 1
  }
}

exporter "router-198-51-100-7" {
  address = "198.51.100.7" # host

  interface "mixed phoenix" {
    ifindex = 1       # id
    role    = "other" # no role hint in the name (IX, PNI, internet exchange, peering, transit)
    # set transit, peering, ix, pni, customer or core where you know it
    sampling_rate = 1 # sample; when the router announces a wrong rate, use force_sampling_rate
  }
}

# The first Lastfluss's database: its traffic table is taken over in place
# (new columns added, every row kept; see plugins/sink-postgres/README.md).
sink "db" {
  plugin = "sink-postgres"
  config {
    # The password is no longer in a file: export LASTFLUSS_DB_PASSWORD before
    # starting (a password holding ' or \ goes into ~/.pgpass instead).
    dsn = "host='db.example.net' port='5433' dbname='lastfluss' user='flow user' password='${env("LASTFLUSS_DB_PASSWORD")}'"
    # aggregation.period: bytes of the old rows are bandwidth × period / 8
    legacy_interval = "300s"
  }
}
