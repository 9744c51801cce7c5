# Lastfluss example configuration: `make run` runs it against a private
# PostgreSQL (scripts/local-postgres.sh), `make demo` also feeds it from
# `lastfluss flowgen`, whose default exporters are the ones below.
# Relative paths are relative to this file.

collector_id = "demo"
interval     = "1m"
plugin_dir   = "../bin/plugins"
state_dir    = "../var"

listen "netflow" {                 # NetFlow v5, v9 and IPFIX on one socket
  address        = "127.0.0.1:2055"
  receive_buffer = "32MiB"
}
listen "sflow" {
  address = "127.0.0.1:6343"
}
control {
  socket = "../var/lastfluss.sock"
}
metrics {
  address = "127.0.0.1:9155"
}

# AS names for every batch, from the sample file (see plugins/enrich-asname
# for where to get the real ones).
enrich "asnames" {
  plugin = "enrich-asname"
  config {
    file = "asnames/asnames.txt"
  }
}

# `make run` sets LASTFLUSS_DSN to its private PostgreSQL under var/pg.
sink "db" {
  plugin = "sink-postgres"
  config {
    dsn = env("LASTFLUSS_DSN")
  }
}

# The four exporters `lastfluss flowgen` simulates by default (127.0.0.10-13):
# `lastfluss flowgen -write-config FILE` writes these blocks.
# v5, rate: v5-header
exporter "gen0" {
  address = "127.0.0.10"
  local_asn = 64500

  interface "if1" {
    ifindex = 1
    role    = "transit"
  }

  interface "if2" {
    ifindex = 2
    role    = "peering"
  }

  interface "if3" {
    ifindex = 3
    role    = "ix"
  }

  interface "if4" {
    ifindex = 4
    role    = "pni"
  }
}

# v9, rate: option-34
exporter "gen1" {
  address = "127.0.0.11"

  interface "if1" {
    ifindex = 1
    role    = "transit"
  }

  interface "if2" {
    ifindex = 2
    role    = "peering"
  }

  interface "if3" {
    ifindex = 3
    role    = "ix"
  }

  interface "if4" {
    ifindex = 4
    role    = "pni"
  }
}

# ipfix, rate: option-305-306
exporter "gen2" {
  address = "127.0.0.12"
  # the announced rate wins over this one
  sampling_rate = 100
  local_asn = 64502
  records = "both"

  interface "if1" {
    ifindex = 1
    role    = "transit"
  }

  interface "if2" {
    ifindex = 2
    role    = "peering"
  }

  interface "if3" {
    ifindex = 3
    role    = "ix"
  }

  interface "if4" {
    ifindex = 4
    role    = "pni"
  }
}

# sflow, rate: sflow-sample, sent from 127.0.0.200
exporter "gen3" {
  address = "127.0.0.13"

  interface "if1" {
    ifindex = 1
    role    = "transit"
  }

  interface "if2" {
    ifindex = 2
    role    = "peering"
  }

  interface "if3" {
    ifindex = 3
    role    = "ix"
  }

  interface "if4" {
    ifindex = 4
    role    = "pni"
  }
}
