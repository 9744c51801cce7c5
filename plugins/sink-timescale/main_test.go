package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/lastfluss/lastfluss/internal/pgtest"
	"github.com/lastfluss/lastfluss/sdk"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPluginProcess builds lastfluss-sink-timescale and starts it as the
// core does: it answers Info and its schema, and refuses a PostgreSQL
// without TimescaleDB with the fix, over gRPC.
func TestPluginProcess(t *testing.T) {
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "lastfluss-sink-timescale")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dsn := pgtest.NewDB(t)
	var stdout, stderr syncBuffer
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginMap,
		Cmd:              exec.Command(bin),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Output: &stderr, Level: hclog.Debug}),
		SyncStdout:       &stdout,
		SyncStderr:       &stderr,
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start plugin: %v", err)
	}
	raw, err := rpc.Dispense(string(sdk.KindSink))
	if err != nil {
		t.Fatal(err)
	}
	sink := raw.(*sdk.SinkClient)
	info, err := sink.GetInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(info, sdk.Info{Name: "sink-timescale", Kind: sdk.KindSink, Version: "0.1.0", APIVersion: sdk.APIVersion}); diff != "" {
		t.Errorf("Info (-got +want):\n%s", diff)
	}
	schema, err := sink.GetConfigSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range schema.Attributes {
		names = append(names, a.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "rollups retention compress_after") {
		t.Errorf("schema over gRPC: %v", names)
	}
	err = sink.Configure(ctx, sdk.Config{"dsn": dsn, "rollups": []string{"5m", "1h", "1d"}})
	if err == nil || !strings.Contains(err.Error(), "no TimescaleDB") || !strings.Contains(err.Error(), "shared_preload_libraries") {
		t.Errorf("Configure on plain PostgreSQL = %v, want the refusal naming the fix", err)
	}
	client.Kill()
	if out := stdout.String(); out != "" {
		t.Errorf("plugin wrote to stdout:\n%s", out)
	}
}
