collector_id = "fra1"
intervall    = "5m"

listen "netflow" {
  address = "0.0.0.0:2055"
  worker  = 2
}
