package pluginhost

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/sdk"
)

// pluginDir holds the plugins the tests run, built once by TestMain.
var pluginDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pluginhost-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginDir = dir
	builds := map[string]string{
		"sink-jsonl":  "../../examples/custom-sink",
		"enrich-test": "./testdata/enrich-test",
		"oldapi":      "./testdata/oldapi",
		"infoapi":     "./testdata/infoapi",
	}
	for name, pkg := range builds {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "lastfluss-"+name), pkg).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects log lines written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records returns the JSON log records with message msg.
func (b *syncBuffer) records(msg string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// await returns the records with message msg once there are some: plugin
// log lines arrive asynchronously, through the plugin's stderr.
func (b *syncBuffer) await(msg string) []map[string]any {
	for {
		if recs := b.records(msg); len(recs) > 0 {
			return recs
		}
		time.Sleep(time.Millisecond)
	}
}

func newHost(t *testing.T) (*Host, *syncBuffer, *prometheus.Registry) {
	t.Helper()
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	cfg := DefaultConfiguration()
	cfg.PluginDir = pluginDir
	h, err := New(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h, logs, reg
}

// block parses one `sink` or `enrich` block the way the config package
// hands it over: the `config {}` body left for the host to decode.
func block(t *testing.T, src string) config.Plugin {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "lastfluss.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	body := f.Body.(*hclsyntax.Body)
	if len(body.Blocks) != 1 {
		t.Fatalf("want one block in %q", src)
	}
	b := body.Blocks[0]
	p := config.Plugin{Kind: b.Type, Name: b.Labels[0], Range: b.DefRange(), BaseDir: t.TempDir(), Config: hcl.EmptyBody()}
	v, diags := b.Body.Attributes["plugin"].Expr.Value(nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p.Plugin = v.AsString()
	for _, inner := range b.Body.Blocks {
		if inner.Type == "config" {
			p.Config = inner.Body
		}
	}
	return p
}

func testBatch(id string) *aggregate.Batch {
	return &aggregate.Batch{
		ID:          id,
		CollectorID: "fra1",
		Start:       time.Date(2026, 12, 4, 16, 1, 0, 0, time.UTC),
		Interval:    time.Minute,
		Interfaces:  []aggregate.Interface{{Exporter: "edge1", Name: "transit", Role: "transit", IfIndex: 531}},
		Rows: []aggregate.Row{
			{Interface: 0, Direction: aggregate.Out, RemoteASN: 174, LocalASN: 64500, IPVersion: 6, Bytes: 1000, Packets: 10, Flows: 1},
		},
		ASNames: map[uint32]aggregate.ASInfo{174: {Name: "COGENT"}},
	}
}

// batchIDs reads the batch ids of the rows in a sink-jsonl output.
func batchIDs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var row struct {
			BatchID      string `json:"batch_id"`
			RemoteASName string `json:"remote_as_name"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if row.RemoteASName != "COGENT" {
			t.Errorf("row of %s has remote_as_name %q", row.BatchID, row.RemoteASName)
		}
		ids = append(ids, row.BatchID)
	}
	return ids
}

func restarts(t *testing.T, reg *prometheus.Registry, plugin string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "lastfluss_plugin_restarts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "plugin" && l.GetValue() == plugin {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no lastfluss_plugin_restarts_total{plugin=%q}", plugin)
	return 0
}

func sinkBlock(t *testing.T, path string) config.Plugin {
	return block(t, fmt.Sprintf(`
sink "out" {
  plugin = "sink-jsonl"
  config {
    path = %q
  }
}`, path))
}

func TestSinkWriteAndLogs(t *testing.T) {
	h, logs, reg := newHost(t)
	path := filepath.Join(t.TempDir(), "flows.jsonl")
	hd, diags := h.Start(t.Context(), sinkBlock(t, path))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, id := range []string{"b1", "b2", "b1"} {
		if err := hd.Write(t.Context(), testBatch(id)); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(batchIDs(t, path), []string{"b1", "b2"}); diff != "" {
		t.Errorf("batches in the output (-got +want):\n%s", diff)
	}
	if got := restarts(t, reg, "out"); got != 0 {
		t.Errorf("restarts = %v, want 0", got)
	}
	// The plugin's hclog line arrives at its own level, under the block's name.
	recs := logs.await("configured")
	if len(recs) != 1 || recs[0]["level"] != "INFO" || recs[0]["plugin"] != "out" || recs[0]["path"] != path {
		t.Errorf("plugin log records %v, want one at INFO with plugin=out and path", recs)
	}
}

func TestRestartAfterKill(t *testing.T) {
	h, logs, reg := newHost(t)
	path := filepath.Join(t.TempDir(), "flows.jsonl")
	hd, diags := h.Start(t.Context(), sinkBlock(t, path))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := hd.Write(t.Context(), testBatch("b1")); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"b2", "b3", "b4"} {
		pid := hd.pid()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill plugin %d: %v", pid, err)
		}
		if err := hd.Write(t.Context(), testBatch(id)); err != nil {
			t.Fatalf("Write after SIGKILL: %v", err)
		}
		if hd.pid() == pid {
			t.Errorf("plugin still has pid %d after a restart", pid)
		}
		if got, want := restarts(t, reg, "out"), float64(i+1); got != want {
			t.Errorf("restarts = %v, want %v", got, want)
		}
	}
	if diff := cmp.Diff(batchIDs(t, path), []string{"b1", "b2", "b3", "b4"}); diff != "" {
		t.Errorf("batches in the output (-got +want):\n%s", diff)
	}
	if n := len(logs.records("plugin restarted")); n != 3 {
		t.Errorf("%d 'plugin restarted' log records, want 3", n)
	}
	// The first restart is at once; then the wait doubles from RestartMin.
	var waits []any
	for _, r := range logs.records("plugin exited; restarting") {
		waits = append(waits, r["after"])
	}
	if diff := cmp.Diff(waits, []any{float64(100 * time.Millisecond), float64(200 * time.Millisecond)}); diff != "" {
		t.Errorf("restart waits in ns (-got +want):\n%s", diff)
	}
}

func (hd *Handle) pid() int {
	hd.mu.Lock()
	defer hd.mu.Unlock()
	return pid(hd.client)
}

func TestEnricher(t *testing.T) {
	h, logs, _ := newHost(t)
	hd, diags := h.Start(t.Context(), block(t, `
enrich "names" {
  plugin = "enrich-test"
  config {
    prefix   = "AS-"
    password = "hunter2"
  }
}`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got, err := hd.Enrich(t.Context(), []uint32{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]aggregate.ASInfo{2: {Name: "AS-2", Country: "DE"}, 4: {Name: "AS-4", Country: "DE"}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Enrich (-got +want):\n%s", diff)
	}
	if recs := logs.await("configured"); len(recs) != 1 || recs[0]["level"] != "WARN" {
		t.Errorf("plugin log records %v, want one at WARN", recs)
	}
	if strings.Contains(logs.String(), "hunter2") {
		t.Error("a sensitive value reached the log")
	}
}

func TestStartRefused(t *testing.T) {
	tests := []struct {
		name        string
		src         string
		wantSummary string
		wantDetail  string
	}{
		{
			name:        "missing binary",
			src:         `sink "db" { plugin = "sink-nope" }`,
			wantSummary: "Plugin not found",
			wantDetail:  fmt.Sprintf(`sink "db": plugin "sink-nope" has no executable %s.`, filepath.Join(pluginDir, "lastfluss-sink-nope")),
		},
		{
			name:        "a path for a name",
			src:         `sink "db" { plugin = "../sink-jsonl" }`,
			wantSummary: "Invalid plugin name",
			wantDetail:  `plugin = "../sink-jsonl": write the name after lastfluss- of a binary in plugin_dir`,
		},
		{
			name:        "handshake of another API version",
			src:         `sink "old" { plugin = "oldapi" }`,
			wantSummary: "Incompatible plugin",
			wantDetail:  fmt.Sprintf("speaks plugin API version %d, this lastfluss speaks version %d: rebuild the plugin", sdk.APIVersion+1, sdk.APIVersion),
		},
		{
			name:        "Info of another API version",
			src:         `sink "info" { plugin = "infoapi" }`,
			wantSummary: "Incompatible plugin",
			wantDetail:  fmt.Sprintf("lastfluss-infoapi speaks plugin API version 99, this lastfluss speaks version %d", sdk.APIVersion),
		},
		{
			name:        "wrong kind",
			src:         `enrich "x" { plugin = "sink-jsonl" }`,
			wantSummary: "Incompatible plugin",
			wantDetail:  `lastfluss-sink-jsonl is a plugin of kind "sink", enrich "x" needs kind "enricher"`,
		},
		{
			name: "plugin refuses its config",
			src: `enrich "x" {
  plugin = "enrich-test"
  config {
    prefix = "refuse"
  }
}`,
			wantSummary: "Plugin refused its configuration",
			wantDetail:  `enrich "x": configure: prefix "refuse" is refused`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, _ := newHost(t)
			_, diags := h.Start(t.Context(), block(t, tt.src))
			if len(diags) != 1 {
				t.Fatalf("diagnostics %v, want one", diags)
			}
			d := diags[0]
			if d.Summary != tt.wantSummary || !strings.Contains(d.Detail, tt.wantDetail) {
				t.Errorf("diagnostic %q: %q, want %q containing %q", d.Summary, d.Detail, tt.wantSummary, tt.wantDetail)
			}
			if d.Subject == nil || d.Subject.Filename != "lastfluss.hcl" || d.Subject.Start.Line != 1 {
				t.Errorf("diagnostic subject %v, want lastfluss.hcl line 1", d.Subject)
			}
		})
	}
}

func TestBadConfigBlock(t *testing.T) {
	h, _, _ := newHost(t)
	_, diags := h.Start(t.Context(), block(t, `
sink "out" {
  plugin = "sink-jsonl"
  config {
    paht = "/tmp/x"
  }
}`))
	var got []string
	for _, d := range diags {
		got = append(got, fmt.Sprintf("%s:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Summary))
	}
	want := []string{
		"lastfluss.hcl:4: Missing required argument",
		"lastfluss.hcl:5: Unsupported argument",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("diagnostics (-got +want):\n%s", diff)
	}
}

func TestCheck(t *testing.T) {
	h, _, _ := newHost(t)
	sink := sinkBlock(t, "/var/flows.jsonl")
	enrich := block(t, `
enrich "names" {
  plugin = "enrich-test"
  config {
    prefix   = "AS-"
    password = "hunter2"
    timeout  = "1m"
  }
}`)
	checked, diags := h.Check(t.Context(), []config.Plugin{sink, enrich})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var got []sdk.Config
	for _, c := range checked {
		got = append(got, c.Masked())
	}
	want := []sdk.Config{
		{"path": "/var/flows.jsonl"},
		{"prefix": "AS-", "password": "(sensitive)", "timeout": time.Minute, "tags": []string{"a"}, "verbose": false},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("masked configs (-got +want):\n%s", diff)
	}
	if !h.Sensitive(enrich, "password") || h.Sensitive(enrich, "prefix") || h.Sensitive(sink, "path") {
		t.Error("Sensitive disagrees with the schemas")
	}
	// Check stops what it started.
	h.mu.Lock()
	n := len(h.handles)
	h.mu.Unlock()
	if n != 0 {
		t.Errorf("%d plugins still running after Check", n)
	}
	if _, diags := h.Check(t.Context(), []config.Plugin{block(t, `sink "db" { plugin = "sink-nope" }`)}); !diags.HasErrors() {
		t.Error("Check of a missing plugin gave no error")
	}

	// An enricher is configured by Check, and its refusal is reported at
	// its block.
	refused := block(t, `
enrich "names" {
  plugin = "enrich-test"
  config {
    prefix = "refuse"
  }
}`)
	checked, diags = h.Check(t.Context(), []config.Plugin{refused})
	if len(checked) != 0 || len(diags) != 1 || diags[0].Summary != "Plugin refused its configuration" ||
		!strings.Contains(diags[0].Detail, `prefix "refuse" is refused`) || diags[0].Subject == nil || diags[0].Subject.Start.Line != 2 {
		t.Errorf("Check of an enricher refusing its config: %v, want one refusal at line 2", diags)
	}
}

func TestCloseKills(t *testing.T) {
	h, _, _ := newHost(t)
	hd, diags := h.Start(t.Context(), sinkBlock(t, filepath.Join(t.TempDir(), "x.jsonl")))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	pid := hd.pid()
	h.Close()
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Errorf("plugin process %d after Close: kill -0 = %v, want ESRCH", pid, err)
	}
	if err := hd.Write(t.Context(), testBatch("b1")); err == nil {
		t.Error("Write after Close succeeded")
	}
}

// TestKillMidBatch kills the sink while it writes a batch's rows: the write
// is retried on a restarted plugin, which first cuts off the rows of the
// batch it never committed, so every row is in the output exactly once.
func TestKillMidBatch(t *testing.T) {
	h, _, reg := newHost(t)
	path := filepath.Join(t.TempDir(), "flows.jsonl")
	hd, diags := h.Start(t.Context(), sinkBlock(t, path))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	const n = 200_000
	b := testBatch("big")
	b.Rows = make([]aggregate.Row, n)
	for i := range b.Rows {
		b.Rows[i] = aggregate.Row{RemoteASN: 174, LocalASN: uint32(i), IPVersion: 4, Bytes: 1, Packets: 1, Flows: 1}
	}

	pid := hd.pid()
	done := make(chan error, 1)
	go func() { done <- hd.Write(t.Context(), b) }()
	killed := false
	for !killed {
		select {
		case err := <-done:
			t.Fatalf("Write returned (%v) before the plugin had written a row", err)
		default:
		}
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
		time.Sleep(time.Millisecond) // poll without taking a core
	}
	if err := <-done; err != nil {
		t.Fatalf("Write across the kill: %v", err)
	}
	ids := batchIDs(t, path)
	if len(ids) != n {
		t.Errorf("%d rows in the output, want %d", len(ids), n)
	}
	if got := restarts(t, reg, "out"); got != 1 {
		t.Errorf("restarts = %v, want 1", got)
	}
}
