# The least a collector needs: a socket to listen on.
listen "netflow" {
  address = "0.0.0.0:2055"
}
