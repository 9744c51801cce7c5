// Package sdktest runs a plugin in the test's process, over a real gRPC
// connection, so that plugin tests see what the core would send.
package sdktest

import (
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/lastfluss/lastfluss/sdk"
)

// Sink serves impl over gRPC and returns the client the core would use.
// Everything is stopped when the test ends.
func Sink(t testing.TB, impl sdk.Sink) *sdk.SinkClient {
	t.Helper()
	return dispense(t, sdk.KindSink, &sdk.SinkPlugin{Impl: impl}).(*sdk.SinkClient)
}

// Enricher serves impl over gRPC and returns the client the core would use.
func Enricher(t testing.TB, impl sdk.Enricher) *sdk.EnricherClient {
	t.Helper()
	return dispense(t, sdk.KindEnricher, &sdk.EnricherPlugin{Impl: impl}).(*sdk.EnricherClient)
}

func dispense(t testing.TB, kind sdk.Kind, p plugin.Plugin) any {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{string(kind): p})
	// Closing the client shuts the server down too; stopping it here as
	// well would race with that.
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(string(kind))
	if err != nil {
		t.Fatalf("dispense %s: %v", kind, err)
	}
	return raw
}
