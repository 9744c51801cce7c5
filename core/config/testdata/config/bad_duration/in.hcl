interval = "5 minutes"

listen "netflow" {
  address = "0.0.0.0:2055"
}
