package config

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
)

var ignoreSource = cmp.Options{
	cmpopts.EquateComparable(netip.Addr{}),
	cmpopts.IgnoreTypes(hcl.Range{}),
	cmpopts.IgnoreFields(Plugin{}, "Config"),
}

func loadCase(t *testing.T, name string) *Config {
	t.Helper()
	dir := filepath.Join(goldenDir, name)
	setEnv(t, filepath.Join(dir, "env"))
	cfg, diags := Load(filepath.Join(dir, "in.hcl"))
	if diags.HasErrors() {
		t.Fatalf("load %s: %s", name, diags.Error())
	}
	return cfg
}

func TestLoadFull(t *testing.T) {
	stubMachine(t)
	cfg := loadCase(t, "full")
	cases, err := filepath.Abs(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cases, "full")
	want := &Config{
		File:        filepath.Join(dir, "in.hcl"),
		CollectorID: "fra1",
		Interval:    time.Minute,
		MaxKeys:     DefaultMaxKeys,
		PluginDir:   filepath.Join(cases, "bin", "plugins"),
		StateDir:    filepath.Join(cases, "var"),
		Log:         Log{Level: "info", Format: "text"},
		Listen: []Listen{
			{Protocol: "netflow", Address: "0.0.0.0:2055", Workers: 2, ReceiveBuffer: 32 << 20, Spread: SpreadExporter},
			{Protocol: "sflow", Address: "0.0.0.0:6343", Workers: 4, ReceiveBuffer: 32 << 20, Spread: SpreadExporter},
		},
		Control: Control{Socket: filepath.Join(cases, "var", "lastfluss.sock")},
		Metrics: Metrics{Address: "127.0.0.1:9155"},
		Exporters: []Exporter{{
			Name:         "edge1-fra",
			Address:      netip.MustParseAddr("192.0.2.1"),
			SamplingRate: 1000,
			LocalASN:     64500,
			Records:      RecordsIngress,
			Interfaces: []Interface{
				{Name: "transit-cogent", IfIndex: 531, Role: "transit", PeerASN: 174, Speed: 100e9},
				{Name: "ix-decix", IfIndex: 612, Role: "ix"},
			},
		}},
		Enrich: []Plugin{{Kind: "enrich", Name: "asnames", Plugin: "enrich-asname", BaseDir: dir}},
		Sinks: []Plugin{{Kind: "sink", Name: "db", Plugin: "sink-postgres", BaseDir: dir,
			QueueMaxSize: 1 << 30, QueueOnFull: QueueOnFullPause}},
	}
	if diff := cmp.Diff(cfg, want, ignoreSource); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
	// Ranges point at the blocks, for diagnostics raised later.
	if r := cfg.Exporters[0].Interfaces[1].Range; r.Start.Line != 33 || !strings.HasSuffix(r.Filename, "in.hcl") {
		t.Errorf("interface range = %s, want line 33 of in.hcl", r)
	}
}

// The plugin host decodes a config body against the plugin's schema later,
// with the same functions: show that the body kept is fit for it.
func TestPluginConfigDecodedLater(t *testing.T) {
	stubMachine(t)
	cfg := loadCase(t, "full")
	sink := cfg.Sinks[0]
	spec := hcldec.ObjectSpec{
		"dsn":     &hcldec.AttrSpec{Name: "dsn", Type: cty.String, Required: true},
		"timeout": &hcldec.DefaultSpec{Primary: &hcldec.AttrSpec{Name: "timeout", Type: cty.String}, Default: &hcldec.LiteralSpec{Value: cty.StringVal("5s")}},
	}
	v, diags := hcldec.Decode(sink.Config, spec, EvalContext(sink.BaseDir))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got, want := v.GetAttr("dsn").AsString(), os.Getenv("LASTFLUSS_DSN"); got != want || got == "" {
		t.Errorf("dsn = %q, want %q", got, want)
	}
	if got := v.GetAttr("timeout").AsString(); got != "5s" {
		t.Errorf("timeout = %q, want the default 5s", got)
	}

	// A schema without "file" makes the enrich block's attribute an error
	// with its position: the body was not consumed by Load.
	enrich := cfg.Enrich[0]
	_, diags = hcldec.Decode(enrich.Config, hcldec.ObjectSpec{
		"names": &hcldec.AttrSpec{Name: "names", Type: cty.String},
	}, EvalContext(enrich.BaseDir))
	if !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Start.Line != 42 {
		t.Errorf("decoding enrich config with a schema lacking its attribute: %v, want an error on line 42", diags)
	}

	// A block without config {} gives an empty body, not nil.
	stubMachine(t)
	d := loadCase(t, "defaults")
	if _, diags := hcldec.Decode(d.Sinks[0].Config, spec, nil); !diags.HasErrors() {
		t.Errorf("empty body decoded against a required attribute without error")
	}
}

func TestInterval(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration // 0: an error
	}{
		{"1s", time.Second},
		{"10s", 10 * time.Second},
		{"1m30s", 90 * time.Second},
		{"1.5s", 1500 * time.Millisecond},
		{"5m", 5 * time.Minute},
		{"1h", time.Hour},
		{"60m", time.Hour},
		{"7s", 0},
		{"7m", 0},
		{"500ms", 0},
		{"2h", 0},
		{"0s", 0},
		{"-1m", 0},
		{"1 m", 0},
		{"1", 0},
	} {
		src := `interval = "` + tc.in + "\"\nlisten \"netflow\" {\n  address = \"127.0.0.1:0\"\n}\nexporter \"e\" {\n  address = \"192.0.2.1\"\n}\n"
		cfg, diags := Parse([]byte(src), "in.hcl")
		if tc.want == 0 {
			if !diags.HasErrors() {
				t.Errorf("interval %q accepted", tc.in)
				continue
			}
			if s := diags.Errs()[0].(*hcl.Diagnostic).Subject; s == nil || s.Start.Line != 1 {
				t.Errorf("interval %q: error %v not on line 1", tc.in, diags)
			}
			continue
		}
		if diags.HasErrors() {
			t.Errorf("interval %q: %s", tc.in, diags.Error())
			continue
		}
		if cfg.Interval != tc.want {
			t.Errorf("interval %q = %v, want %v", tc.in, cfg.Interval, tc.want)
		}
	}
}

// Every error carries the range it is about.
func TestErrorsHaveSubjects(t *testing.T) {
	stubMachine(t)
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	errorCases := 0
	for _, e := range entries {
		_, diags := Load(filepath.Join(goldenDir, e.Name(), "in.hcl"))
		for _, d := range diags.Errs() {
			errorCases++
			if diag := d.(*hcl.Diagnostic); diag.Subject == nil || diag.Subject.Filename == "" {
				t.Errorf("%s: error without a subject: %s", e.Name(), diag)
			}
		}
	}
	if errorCases < 40 {
		t.Errorf("only %d errors in all cases: the error cases are not errors any more", errorCases)
	}
}

func TestManyErrorsAtOnce(t *testing.T) {
	_, diags := Load(filepath.Join(goldenDir, "many_errors", "in.hcl"))
	lines := map[int]bool{}
	for _, d := range diags.Errs() {
		lines[d.(*hcl.Diagnostic).Subject.Start.Line] = true
	}
	if len(lines) < 25 {
		t.Errorf("errors on %d distinct lines, want every mistake of the file (25 or more)", len(lines))
	}
}

func TestMissingListenAndFile(t *testing.T) {
	cfg, diags := Parse([]byte("collector_id = \"x\"\n"), "in.hcl")
	if cfg != nil || !diags.HasErrors() || !strings.Contains(summaries(diags), "Missing listen block") {
		t.Errorf("config without listen block: %v, %s", cfg, summaries(diags))
	}
	cfg, diags = Load(filepath.Join(t.TempDir(), "absent.hcl"))
	if cfg != nil || !diags.HasErrors() || !strings.Contains(diags.Error(), "absent.hcl") {
		t.Errorf("absent file: %v, %s", cfg, diags.Error())
	}
	cfg, diags = Parse([]byte("listen \"netflow\" {\n  address = \n}\n"), "in.hcl")
	if cfg != nil || !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Start.Line != 2 {
		t.Errorf("syntax error: %v, %v", cfg, diags)
	}
}

// Parse resolves relative paths against the directory of the file name it
// is given, not the working directory.
func TestParseRelativeToFile(t *testing.T) {
	stubMachine(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "names.txt"), []byte("n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `state_dir = "st"
listen "sflow" {
  address = "127.0.0.1:0"
}
listen "sflow" {
  address = "127.0.0.1:0" # port 0 twice is no conflict
}
enrich "n" {
  plugin = "x"
  config {
    names = file("names.txt")
  }
}
`
	cfg, diags := Parse([]byte(src), filepath.Join(dir, "conf.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if cfg.StateDir != filepath.Join(dir, "st") || cfg.Control.Socket != filepath.Join(dir, "st", "lastfluss.sock") ||
		cfg.Enrich[0].BaseDir != dir || cfg.File != filepath.Join(dir, "conf.hcl") {
		t.Errorf("paths not relative to %s: %+v", dir, cfg)
	}
}

// Load(path) then WriteDiagnostics(w, nil, diags) reads the source back
// from disk: the output is the same as with the Loader's files.
func TestWriteDiagnosticsFromDisk(t *testing.T) {
	path := filepath.Join(goldenDir, "many_errors", "in.hcl")
	l := NewLoader()
	_, diags := l.Load(path)
	var withFiles, fromDisk bytes.Buffer
	if err := l.WriteDiagnostics(&withFiles, diags); err != nil {
		t.Fatal(err)
	}
	if err := WriteDiagnostics(&fromDisk, nil, diags); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromDisk.String(), withFiles.String()); diff != "" {
		t.Errorf("(-from disk +with files):\n%s", diff)
	}
	if !strings.Contains(fromDisk.String(), `  27:   sampling_rate       = 0`) {
		t.Errorf("source line missing from:\n%s", fromDisk.String())
	}
}

func TestQueue(t *testing.T) {
	src := `listen "netflow" {
  address = "[::]:2055"
  receive_buffer = 1048576
}
sink "a" {
  plugin = "sink-postgres"
  queue {
    max_size = "10GiB"
    on_full  = "drop_oldest"
  }
}
sink "b" {
  plugin = "sink-postgres"
  queue {
    max_size = 5000000
  }
}
`
	cfg, diags := Parse([]byte(src), "in.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	got := []any{cfg.Listen[0].ReceiveBuffer, cfg.Sinks[0].QueueMaxSize, cfg.Sinks[0].QueueOnFull, cfg.Sinks[1].QueueMaxSize, cfg.Sinks[1].QueueOnFull}
	want := []any{1 << 20, int64(10 << 30), QueueOnFullDropOldest, int64(5e6), QueueOnFullPause}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
	if cfg.Enrich != nil || slices.ContainsFunc(cfg.Sinks, func(p Plugin) bool { return p.Kind != "sink" }) {
		t.Errorf("kinds wrong: %+v", cfg)
	}
}

func summaries(diags hcl.Diagnostics) string {
	var s []string
	for _, d := range diags {
		s = append(s, d.Summary)
	}
	return strings.Join(s, "; ")
}

// TestSkipPluginConfig: status and tui read the control socket from a
// config whose sink password comes from an env() the operator's shell does
// not set; a normal load reports it.
func TestSkipPluginConfig(t *testing.T) {
	stubMachine(t)
	path := filepath.Join(t.TempDir(), "lastfluss.hcl")
	src := `control {
  socket = "run/lastfluss.sock"
}
listen "netflow" {
  address = ":2055"
}
exporter "edge1" {
  address = "192.0.2.1"
  interface "transit" {
    ifindex = 1
    role    = "transit"
  }
}
sink "db" {
  plugin = "sink-postgres"
  config {
    dsn = env("LASTFLUSS_TEST_SURELY_UNSET")
  }
}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, diags := Load(path); len(diags) != 1 || diags[0].Subject == nil || diags[0].Subject.Start.Line != 17 {
		t.Errorf("a normal load: %v, want the unset env() on line 17", diags)
	}
	l := NewLoader()
	l.SkipPluginConfig = true
	cfg, diags := l.Load(path)
	if diags.HasErrors() {
		t.Fatalf("load skipping plugin config: %s", diags.Error())
	}
	if want := filepath.Join(filepath.Dir(path), "run", "lastfluss.sock"); cfg.Control.Socket != want {
		t.Errorf("control socket %q, want %q", cfg.Control.Socket, want)
	}
}
