# Relative paths are relative to this file's directory, whatever the
# working directory; absolute paths stay as written.
plugin_dir = "plugins"
state_dir  = "../relative_paths/./state/"

control {
  socket = "/run/lastfluss/control.sock"
}

listen "netflow" {
  address = "127.0.0.1:2055"
}

enrich "asnames" {
  plugin = "enrich-asname"
  config {
    names = file("conf/asnames.txt")
  }
}
