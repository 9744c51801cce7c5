// Command lastfluss-oldapi is a sink built against an SDK with another API
// version: its handshake says so.
package main

import (
	"context"

	"github.com/hashicorp/go-plugin"

	"github.com/lastfluss/lastfluss/sdk"
)

func main() {
	hs := sdk.Handshake
	hs.ProtocolVersion = sdk.APIVersion + 1
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         plugin.PluginSet{"sink": &sdk.SinkPlugin{Impl: sink{}}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

type sink struct{}

func (sink) Info() sdk.Info                              { return sdk.Info{Name: "oldapi", APIVersion: sdk.APIVersion + 1} }
func (sink) ConfigSchema() sdk.Schema                    { return sdk.Schema{} }
func (sink) Configure(context.Context, sdk.Config) error { return nil }
func (sink) Write(context.Context, *sdk.Batch) error     { return nil }
