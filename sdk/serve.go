package sdk

import (
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// Handshake is shared by the core and every plugin. The cookie only tells a
// user who runs a plugin by hand that it is not a program to run; the
// protocol version is APIVersion, so go-plugin refuses a plugin built
// against another SDK before any call.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  APIVersion,
	MagicCookieKey:   "LASTFLUSS_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "lastfluss-plugin-e3b7a1c94f0d4a6b8c25d17f9e0a6b3c-started-by-lastfluss",
}

// PluginMap is what the core dispenses from a plugin process, by Kind.
var PluginMap = map[string]plugin.Plugin{
	string(KindSink):     &SinkPlugin{},
	string(KindEnricher): &EnricherPlugin{},
}

// ServeSink runs impl as a sink plugin process; it returns when the core
// ends the plugin. A plugin's main is:
//
//	func main() { sdk.ServeSink(&mySink{}) }
func ServeSink(impl Sink) {
	serve(KindSink, &SinkPlugin{Impl: impl})
}

// ServeEnricher runs impl as an enricher plugin process.
func ServeEnricher(impl Enricher) {
	serve(KindEnricher, &EnricherPlugin{Impl: impl})
}

func serve(kind Kind, p plugin.Plugin) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{string(kind): p},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "go-plugin",
			Level:      hclog.Warn,
			Output:     stderr,
			JSONFormat: true,
		}),
	})
}
