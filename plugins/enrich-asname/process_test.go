package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/lastfluss/lastfluss/sdk"
)

const exampleDir = "../../examples/asnames"

// TestExampleData: the demo's sample files load without a malformed line.
func TestExampleData(t *testing.T) {
	for _, tt := range []struct {
		file string
		min  int
	}{{"asnames.txt", 300}, {"peeringdb-net.json", 8}} {
		f, err := os.Open(filepath.Join(exampleDir, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		load := loadRIPE
		if strings.HasSuffix(tt.file, ".json") {
			load = loadPeeringDB
		}
		tbl, st, err := load(f)
		f.Close()
		if err != nil || st.Malformed != 0 || tbl.Len() < tt.min {
			t.Errorf("%s: %v, %d ASNs, %+v", tt.file, err, tbl.Len(), st)
		}
	}
}

// TestPluginProcess builds lastfluss-enrich-asname and runs it as the core
// does: go-plugin over gRPC, an empty environment but the config directory.
func TestPluginProcess(t *testing.T) {
	ctx := t.Context()
	bin := filepath.Join(t.TempDir(), "lastfluss-enrich-asname")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir, err := filepath.Abs(filepath.Join(exampleDir, ".."))
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin)
	cmd.Env = []string{sdk.LogLevelEnv + "=debug", ConfigDirEnv + "=" + dir}
	var stdout, stderr logBuffer
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
	raw, err := rpc.Dispense(string(sdk.KindEnricher))
	if err != nil {
		t.Fatal(err)
	}
	en := raw.(*sdk.EnricherClient)
	info, err := en.GetInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(info, sdk.Info{Name: "enrich-asname", Kind: sdk.KindEnricher, Version: version, APIVersion: sdk.APIVersion}); diff != "" {
		t.Errorf("Info (-got +want):\n%s", diff)
	}
	// As the core sends it: relative paths, defaults filled in.
	if err := en.Configure(ctx, sdk.Config{"file": "asnames/asnames.txt", "peeringdb": []string{"asnames/peeringdb-net.json"},
		"dns": false, "dns_timeout": time.Second, "dns_rate": 10.0, "dns_cache_ttl": 24 * time.Hour, "reload_interval": time.Minute}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	got, err := en.Enrich(ctx, []uint32{13335, 3320, 174, 6939, 64497, 4294967294})
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]sdk.ASInfo{
		13335: {Name: "CLOUDFLARENET", Country: "US"},
		3320:  {Name: "DTAG", Description: "Internet service provider operations", Country: "DE"},
		174:   {Name: "COGENT-174", Description: "Cogent Communications, LLC", Country: "US"},
		6939:  {Name: "HURRICANE", Description: "Hurricane Electric LLC", Country: "US"},
		64497: {Name: "Example Hosting GmbH", Description: "Example Hosting"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Enrich (-got +want):\n%s", diff)
	}
	if err := en.Configure(ctx, sdk.Config{"file": "nowhere.txt"}); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "nowhere.txt")) {
		t.Errorf("Configure with a missing file = %v, want its absolute path in the error", err)
	}

	client.Kill()
	if out := stdout.String(); out != "" {
		t.Errorf("plugin wrote to stdout:\n%s", out)
	}
	if logs := stderr.String(); !strings.Contains(logs, "AS names loaded") {
		t.Errorf("plugin logs lack the load:\n%s", logs)
	}
}
