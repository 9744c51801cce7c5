interval = "7m"

listen "netflow" {
  address = "0.0.0.0:2055"
}
