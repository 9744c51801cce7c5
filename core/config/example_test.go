package config_test

import (
	"fmt"
	"os"

	"github.com/lastfluss/lastfluss/core/config"
)

// What `lastfluss check` does: every problem at once, with its line.
func ExampleLoader() {
	src := []byte(`interval = "7m"

listen "netflow" {
  address = "0.0.0.0:2055"
}

exporter "edge1" {
  address = "192.0.2.1"
  interface "transit" {
    ifindex = 531
    role    = "upstream"
  }
}
`)
	loader := config.NewLoader()
	cfg, diags := loader.Parse(src, "lastfluss.hcl")
	if diags.HasErrors() {
		_ = loader.WriteDiagnostics(os.Stdout, diags)
		return
	}
	fmt.Print(cfg.Effective(nil))
	// Output:
	// Error: Invalid interval
	//
	//   on lastfluss.hcl line 1:
	//    1: interval = "7m"
	//
	// interval must divide one hour exactly, so that intervals start at the same times every hour; 7m does not (1h / 7m = 8.571). Use for example 10s, 30s, 1m, 5m, 10m, 15m or 1h.
	//
	// Error: Unknown role
	//
	//   on lastfluss.hcl line 11, in exporter "edge1":
	//   11:     role    = "upstream"
	//
	// role must be one of "transit", "peering", "ix", "pni", "customer", "core", "other", not "upstream".
}
