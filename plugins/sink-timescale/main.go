// Command lastfluss-sink-timescale is the sink plugin that stores batches
// in a TimescaleDB hypertable with rollups; the logic lives in package
// tssink.
package main

import (
	"github.com/lastfluss/lastfluss/plugins/sink-timescale/tssink"
	"github.com/lastfluss/lastfluss/sdk"
)

func main() { sdk.ServeSink(&tssink.Sink{Logger: sdk.Logger()}) }
