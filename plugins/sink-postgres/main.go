// Command lastfluss-sink-postgres is the sink plugin that stores batches in
// PostgreSQL; the logic lives in package pgsink.
package main

import (
	"github.com/lastfluss/lastfluss/plugins/sink-postgres/pgsink"
	"github.com/lastfluss/lastfluss/sdk"
)

func main() { sdk.ServeSink(&pgsink.Sink{Logger: sdk.Logger()}) }
