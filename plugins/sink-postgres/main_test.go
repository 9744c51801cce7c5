package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/jackc/pgx/v5"

	"github.com/lastfluss/lastfluss/internal/pgtest"
	"github.com/lastfluss/lastfluss/sdk"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// syncBuffer collects a plugin's output lines.
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

// TestPluginProcess builds lastfluss-sink-postgres, starts it as the core
// does (go-plugin, gRPC, empty environment) and stores a million-row batch
// through it.
func TestPluginProcess(t *testing.T) {
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "lastfluss-sink-postgres")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dsn := pgtest.NewDB(t)

	cmd := exec.Command(bin)
	cmd.Env = []string{sdk.LogLevelEnv + "=debug"}
	var stdout, stderr syncBuffer
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginMap,
		Cmd:              cmd,
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
	if diff := cmp.Diff(info, sdk.Info{Name: "sink-postgres", Kind: sdk.KindSink, Version: "0.1.0", APIVersion: sdk.APIVersion}); diff != "" {
		t.Errorf("Info (-got +want):\n%s", diff)
	}
	schema, err := sink.GetConfigSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(schema.Attributes) != 5 || schema.Attributes[0].Name != "dsn" || !schema.Attributes[0].Sensitive {
		t.Errorf("schema over gRPC: %+v", schema)
	}
	// As the core sends it: defaults filled in.
	if err := sink.Configure(ctx, sdk.Config{"dsn": dsn, "table": "traffic", "pool_size": 2.0,
		"statement_timeout": time.Minute}); err != nil {
		t.Fatalf("configure: %v", err)
	}

	const n = 1_000_000
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	b := &sdk.Batch{
		ID: "fra1/2026-12-04T10:00:00Z/abcd/1", CollectorID: "fra1", Start: start, Interval: time.Minute,
		Interfaces: []sdk.Interface{{Exporter: "edge1", Name: "transit", Role: "transit"}, {Exporter: "edge1", Name: "ix", Role: "ix"}},
		ASNames:    map[uint32]sdk.ASInfo{174: {Name: "COGENT-174", Country: "US"}},
		Rows:       make([]sdk.Row, n),
	}
	var wantBytes int64
	for i := range b.Rows {
		b.Rows[i] = sdk.Row{Interface: uint32(i % 2), Direction: sdk.Direction(i / 2 % 2), RemoteASN: uint32(i / 4),
			LocalASN: 64500, IPVersion: 4, Bytes: uint64(i + 1), Packets: 1, Flows: 1}
		wantBytes += int64(i + 1)
	}
	for range 2 { // the second delivery is a no-op
		if err := sink.Write(ctx, b); err != nil {
			t.Fatalf("write: %v", err)
		}
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, sum int64
	var name string
	if err := conn.QueryRow(ctx, "SELECT count(*), sum(bytes), (SELECT name FROM asn WHERE asn = 174) FROM traffic").
		Scan(&rows, &sum, &name); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{rows, sum, name}, []any{int64(n), wantBytes, "COGENT-174"}); diff != "" {
		t.Errorf("stored rows, bytes, AS name (-got +want):\n%s", diff)
	}

	// A dead server is no reason not to start (the core queues); writes
	// fail without the password in the error. Bad settings still fail.
	if err := sink.Configure(ctx, sdk.Config{"dsn": "postgres://x:s3cret@127.0.0.1:1/db?connect_timeout=5"}); err != nil {
		t.Errorf("Configure with a dead server: %v", err)
	}
	err = sink.Write(ctx, &sdk.Batch{ID: "c/x/1/1", Start: time.Now().Truncate(time.Minute), Interval: time.Minute})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Write with a dead server = %v: want an error without the password", err)
	}
	err = sink.Configure(ctx, sdk.Config{"dsn": "postgres://x:s3cret@127.0.0.1:1/db", "pool_size": 0.0})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Configure with pool_size 0 = %v: want an error without the password", err)
	}

	client.Kill()
	if out := stdout.String(); out != "" {
		t.Errorf("plugin wrote to stdout:\n%s", out)
	}
	logs := stderr.String()
	for _, want := range []string{"schema migrated", "batch already stored"} {
		if !strings.Contains(logs, want) {
			t.Errorf("plugin logs lack %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "s3cret") || strings.Contains(logs, dsn) {
		t.Errorf("plugin logs show the DSN:\n%s", logs)
	}
}
