collector_id = env("LF_COLLECTOR")

listen "sflow" {
  address = env("LF_SFLOW_ADDRESS")
}

exporter "edge1" {
  address = "2001:db8::1"

  interface "transit" {
    ifindex     = 7
    role        = "transit"
    description = file("description.txt")
  }
}

enrich "asnames" {
  plugin = "enrich-asname"
  config {
    names = file("asnames.txt")
  }
}

sink "archive" {
  plugin = "sink-custom"
  config {
    url        = "https://archiver:${env("LF_ARCHIVE_PASSWORD")}@archive.example.net/"
    api_token  = env("LF_ARCHIVE_PASSWORD")
    batch_rows = 5000
    tags       = ["fra1", env("LF_COLLECTOR")]

    tls {
      ca_file  = "ca.pem"
      key_file = "key.pem"
    }
  }
}
