package main

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/lastfluss/lastfluss/sdk"
	"github.com/lastfluss/lastfluss/sdk/sdktest"
)

func batch(id string) *sdk.Batch {
	return &sdk.Batch{
		ID:          id,
		CollectorID: "fra1",
		Start:       time.Date(2026, 12, 4, 16, 1, 0, 0, time.UTC),
		Interval:    time.Minute,
		Interfaces: []sdk.Interface{
			{Exporter: "edge1-fra", Name: "transit-cogent", Role: "transit", IfIndex: 531, PeerASN: 174},
			{Exporter: "edge1-fra", Name: "ix-decix", Role: "ix", IfIndex: 612},
		},
		ASNames: map[uint32]sdk.ASInfo{174: {Name: "COGENT-174"}, 64500: {Name: "EXAMPLE-NET"}},
		Rows: []sdk.Row{
			{Interface: 0, Direction: sdk.In, RemoteASN: 174, LocalASN: 64500, IPVersion: 4, Bytes: 1500000, Packets: 1000, Flows: 3},
			{Interface: 1, Direction: sdk.Out, RemoteASN: 3320, LocalASN: 64500, IPVersion: 6, Bytes: 64000, Packets: 100, Flows: 1},
			{Interface: 1, Direction: sdk.In, Other: true, IPVersion: 4, Bytes: 99, Packets: 2, Flows: 2},
		},
	}
}

// wantLines is what batch(id) writes, key by key.
func wantLines(id string) []map[string]any {
	common := func(m map[string]any) map[string]any {
		m["batch_id"], m["time"], m["interval_seconds"] = id, "2026-12-04T16:01:00Z", 60.0
		return m
	}
	return []map[string]any{
		common(map[string]any{"exporter": "edge1-fra", "interface": "transit-cogent", "role": "transit", "direction": "in",
			"remote_asn": 174.0, "local_asn": 64500.0, "ip_version": 4.0, "bytes": 1500000.0, "packets": 1000.0, "flows": 3.0,
			"other": false, "remote_as_name": "COGENT-174", "local_as_name": "EXAMPLE-NET"}),
		common(map[string]any{"exporter": "edge1-fra", "interface": "ix-decix", "role": "ix", "direction": "out",
			"remote_asn": 3320.0, "local_asn": 64500.0, "ip_version": 6.0, "bytes": 64000.0, "packets": 100.0, "flows": 1.0,
			"other": false, "local_as_name": "EXAMPLE-NET"}),
		common(map[string]any{"exporter": "edge1-fra", "interface": "ix-decix", "role": "ix", "direction": "in",
			"remote_asn": nil, "local_asn": nil, "ip_version": 4.0, "bytes": 99.0, "packets": 2.0, "flows": 2.0,
			"other": true}),
	}
}

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	return lines
}

// newSink starts a sink in-process, as a fresh plugin process would be.
func newSink(t *testing.T, path string) sdk.Sink {
	t.Helper()
	s := sdktest.Sink(t, &jsonlSink{log: slog.New(slog.DiscardHandler)})
	if err := s.Configure(t.Context(), sdk.Config{"path": path}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return s
}

func TestWriteRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.jsonl")
	if err := newSink(t, path).Write(t.Context(), batch("b1")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(readLines(t, path), wantLines("b1")); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
}

func TestRedeliverySkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.jsonl")
	s := newSink(t, path)
	for _, id := range []string{"b1", "b1", "b2"} {
		if err := s.Write(t.Context(), batch(id)); err != nil {
			t.Fatal(err)
		}
	}
	// A restarted plugin remembers from the ledger.
	s = newSink(t, path)
	for _, id := range []string{"b2", "b1", "b3"} {
		if err := s.Write(t.Context(), batch(id)); err != nil {
			t.Fatal(err)
		}
	}
	want := append(append(wantLines("b1"), wantLines("b2")...), wantLines("b3")...)
	if diff := cmp.Diff(readLines(t, path), want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
}

// TestCrashBetweenWrites: the rows of b2 reached the output but its ledger
// line did not (the last one is torn). The next start cuts b2's rows off, so
// that its redelivery counts once.
func TestCrashBetweenWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.jsonl")
	if err := newSink(t, path).Write(t.Context(), batch("b1")); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path, `{"batch_id":"b2","time":"2026-12-04T16:01:00Z"}`+"\n"+`{"batch_id":"b2","ti`)
	appendTo(t, path+".ledger", `{"batch_id":"b2","end":99`)

	s := newSink(t, path)
	if diff := cmp.Diff(readLines(t, path), wantLines("b1")); diff != "" {
		t.Errorf("output after restart (-got +want):\n%s", diff)
	}
	if err := s.Write(t.Context(), batch("b2")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(readLines(t, path), append(wantLines("b1"), wantLines("b2")...)); diff != "" {
		t.Errorf("output after redelivery (-got +want):\n%s", diff)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestConfigureErrors(t *testing.T) {
	s := sdktest.Sink(t, &jsonlSink{log: slog.New(slog.DiscardHandler)})
	for _, cfg := range []sdk.Config{{}, {"path": filepath.Join(t.TempDir(), "missing", "flows.jsonl")}} {
		if err := s.Configure(t.Context(), cfg); err == nil {
			t.Errorf("Configure(%v) succeeded", cfg)
		}
	}
}

// TestRealProcess builds the plugin and runs it the way the core does.
func TestRealProcess(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "lastfluss-sink-jsonl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginMap,
		Cmd:              exec.Command(bin),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug}),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpc.Dispense(string(sdk.KindSink))
	if err != nil {
		t.Fatal(err)
	}
	s := raw.(*sdk.SinkClient)
	info, err := s.GetInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(info, sdk.Info{Name: "sink-jsonl", Kind: sdk.KindSink, Version: "1.0.0", APIVersion: sdk.APIVersion}); diff != "" {
		t.Errorf("info (-got +want):\n%s", diff)
	}
	path := filepath.Join(dir, "flows.jsonl")
	if err := s.Configure(t.Context(), sdk.Config{"path": path}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"b1", "b1"} {
		if err := s.Write(t.Context(), batch(id)); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(readLines(t, path), wantLines("b1")); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
