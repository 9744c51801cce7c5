// Command lastfluss-infoapi is a sink whose Info reports another API version
// than its handshake.
package main

import (
	"context"

	"github.com/lastfluss/lastfluss/sdk"
)

func main() { sdk.ServeSink(sink{}) }

type sink struct{}

func (sink) Info() sdk.Info                              { return sdk.Info{Name: "infoapi", APIVersion: 99} }
func (sink) ConfigSchema() sdk.Schema                    { return sdk.Schema{} }
func (sink) Configure(context.Context, sdk.Config) error { return nil }
func (sink) Write(context.Context, *sdk.Batch) error     { return nil }
