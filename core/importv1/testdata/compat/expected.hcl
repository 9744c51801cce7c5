# Converted by `lastfluss import-v1` from the first Lastfluss's settings.yaml
# and interfaces.yaml. Check it with `lastfluss check -config FILE`.
# collector_id defaults to this machine's host name; plugin_dir to the plugins
# beside the lastfluss binary; state_dir (queues, templates) to ./var.

interval = "1m" # aggregation.period: 60 seconds
# logging.file "importer.log" is not used: Lastfluss logs to stderr (the journal under systemd).

# The first Lastfluss decoded NetFlow v9 only; this socket takes v5, v9 and IPFIX.
# Add a listen "sflow" block for sFlow exporters.
listen "netflow" {
  address = ":2055" # netflow.address
  workers = 8       # netflow.threads
}

exporter "router-1-2-3-4" {
  address = "1.2.3.4" # host

  interface "some transit provider" {
    ifindex       = 23        # id
    role          = "transit" # the name contains "transit"
    sampling_rate = 512       # sample; when the router announces a wrong rate, use force_sampling_rate
  }

  interface "some internet exchange" {
    ifindex       = 42   # id
    role          = "ix" # the name contains "internet exchange"
    sampling_rate = 512  # sample; when the router announces a wrong rate, use force_sampling_rate
  }
}

# The first Lastfluss's database: its traffic table is taken over in place
# (new columns added, every row kept; see plugins/sink-postgres/README.md).
sink "db" {
  plugin = "sink-postgres"
  config {
    # The password is no longer in a file: export LASTFLUSS_DB_PASSWORD before
    # starting (a password holding ' or \ goes into ~/.pgpass instead).
    dsn = "host='localhost' port='5432' dbname='foo' user='bar' password='${env("LASTFLUSS_DB_PASSWORD")}'"
    # aggregation.period: bytes of the old rows are bandwidth × period / 8
    legacy_interval = "60s"
  }
}
