package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lastfluss/lastfluss/sdk"
	"github.com/lastfluss/lastfluss/sdk/sdktest"
)

func TestFirstSourceWins(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, filepath.Join(dir, "a.txt"), "13335 CLOUDFLARENET, US\n174 COGENT-174 - Cogent Communications, LLC, US\n")
	b := writeFile(t, filepath.Join(dir, "b.txt"), "174 OTHER-174 - Not this one, DE\n3320 DTAG Internet service provider operations, DE\n")
	pdb := writeFile(t, filepath.Join(dir, "net.json"), `{"data": [
		{"asn": 3320, "name": "Deutsche Telekom AG"},
		{"asn": 6939, "name": "Hurricane Electric", "aka": "HE"}]}`)

	log, _ := testLogger()
	e := newEnricher(log)
	if err := e.Configure(t.Context(), sdk.Config{"file": a, "files": []string{b}, "peeringdb": []string{pdb}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.Enrich(t.Context(), []uint32{13335, 174, 3320, 6939, 64500})
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]sdk.ASInfo{
		13335: {Name: "CLOUDFLARENET", Country: "US"},
		174:   {Name: "COGENT-174", Description: "Cogent Communications, LLC", Country: "US"},
		3320:  {Name: "DTAG", Description: "Internet service provider operations", Country: "DE"},
		6939:  {Name: "Hurricane Electric", Description: "HE"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Enrich (-got +want):\n%s", diff)
	}
}

func TestConfigureErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "a.txt"), "1 A, US\n")
	tests := []struct {
		name string
		cfg  sdk.Config
		want string
	}{
		{"nothing", sdk.Config{}, "no source of AS names"},
		{"missing file", sdk.Config{"file": filepath.Join(dir, "nope.txt")}, "nope.txt"},
		{"missing among files", sdk.Config{"file": good, "files": []string{filepath.Join(dir, "gone.txt")}}, "gone.txt"},
		{"bad json", sdk.Config{"peeringdb": []string{good}}, "decode JSON"},
		{"dns rate", sdk.Config{"dns": true, "dns_rate": 0.0}, "dns_rate"},
		{"dns timeout", sdk.Config{"dns": true, "dns_timeout": time.Duration(0)}, "dns_timeout"},
		{"reload", sdk.Config{"file": good, "reload_interval": -time.Second}, "reload_interval"},
	}
	for _, tt := range tests {
		log, _ := testLogger()
		err := newEnricher(log).Configure(t.Context(), tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Configure = %v, want an error about %q", tt.name, err, tt.want)
		}
	}
}

func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "asnames.txt"), "13335 CLOUDFLARENET, US\n")
	t.Setenv(ConfigDirEnv, dir)
	log, _ := testLogger()
	e := newEnricher(log)
	if err := e.Configure(t.Context(), sdk.Config{"file": "asnames.txt"}); err != nil {
		t.Fatal(err)
	}
	if got := e.state.Load().files[0].path; got != filepath.Join(dir, "asnames.txt") {
		t.Errorf("path %q, want it in %s", got, dir)
	}

	t.Setenv(ConfigDirEnv, "")
	t.Chdir(dir)
	if got := resolvePath("x/y.txt"); got != filepath.Join(dir, "x/y.txt") {
		t.Errorf("without %s: %q, want it in the working directory %s", ConfigDirEnv, got, dir)
	}
}

// rewrite replaces a file's content and moves its modification time, as a
// download of a new copy does.
func rewrite(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	writeFile(t, path, content)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "asnames.txt")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	rewrite(t, path, "13335 CLOUDFLARENET, US\n", t0)
	log, buf := testLogger()
	e := newEnricher(log)
	if err := e.Configure(t.Context(), sdk.Config{"file": path, "reload_interval": time.Duration(0)}); err != nil {
		t.Fatal(err)
	}
	src := e.state.Load().files[0]
	name := func(asn uint32) string {
		t.Helper()
		got, _ := e.Enrich(t.Context(), []uint32{asn})
		return got[asn].Name
	}

	// Same size and time: not read again (the content is not looked at).
	rewrite(t, path, "13335 CLOUDFLAREXXX, US\n", t0)
	if err := src.load(false); err != nil || name(13335) != "CLOUDFLARENET" {
		t.Errorf("unchanged stat: load = %v, name %q", err, name(13335))
	}
	// A new time: reloaded.
	rewrite(t, path, "13335 CLOUDFLARENET, US\n6939 HURRICANE - Hurricane Electric LLC, US\n", t0.Add(time.Minute))
	if err := src.load(false); err != nil || name(6939) != "HURRICANE" {
		t.Errorf("changed file: load = %v, name %q", err, name(6939))
	}
	// A truncated download keeps the previous table, and so does a
	// vanished file.
	rewrite(t, path, "", t0.Add(2*time.Minute))
	if err := src.load(false); err == nil || name(6939) != "HURRICANE" {
		t.Errorf("empty file: load = %v, name %q", err, name(6939))
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := src.load(false); err == nil || name(6939) != "HURRICANE" {
		t.Errorf("removed file: load = %v, name %q", err, name(6939))
	}
	if n := len(buf.records(t, "AS names loaded")); n != 2 {
		t.Errorf("%d loads logged, want 2", n)
	}
}

// TestReloadLoop: the background check picks a new file up by itself.
func TestReloadLoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "asnames.txt")
	rewrite(t, path, "3320 DTAG Internet service provider operations, DE\n", time.Now().Add(-time.Hour))
	log, _ := testLogger()
	e := newEnricher(log)
	if err := e.Configure(t.Context(), sdk.Config{"file": path, "reload_interval": 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	rewrite(t, path, "3320 DTAG-NEW Renamed, DE\n", time.Now())
	for {
		got, _ := e.Enrich(t.Context(), []uint32{3320})
		if got[3320].Name == "DTAG-NEW" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A second Configure stops the first loop before starting its own.
	if err := e.Configure(t.Context(), sdk.Config{"file": path, "reload_interval": time.Duration(0)}); err != nil {
		t.Fatal(err)
	}
	if e.stopReload != nil {
		t.Error("reload loop running with reload_interval = 0")
	}
}

// TestEnrichOverGRPC runs the plugin in-process behind the SDK's gRPC glue,
// as the core sees it.
func TestEnrichOverGRPC(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "asnames.txt"),
		"13335 CLOUDFLARENET, US\n3320 DTAG Internet service provider operations, DE\n1 LVLT-1 - Level 3 Parent, LLC, US\n")
	log, _ := testLogger()
	c := sdktest.Enricher(t, newEnricher(log))
	info, err := c.GetInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(info, sdk.Info{Name: "enrich-asname", Kind: sdk.KindEnricher, Version: version, APIVersion: sdk.APIVersion}); diff != "" {
		t.Errorf("Info (-got +want):\n%s", diff)
	}
	s, err := c.GetConfigSchema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, schema); diff != "" {
		t.Errorf("schema over gRPC (-got +want):\n%s", diff)
	}
	if err := c.Configure(t.Context(), sdk.Config{"file": path, "dns": false, "dns_timeout": time.Second,
		"dns_rate": 10.0, "dns_cache_ttl": 24 * time.Hour, "reload_interval": time.Minute}); err != nil {
		t.Fatal(err)
	}
	// Enough ASNs for several calls of the SDK's client.
	asns := []uint32{1, 3320, 13335}
	for i := range 10_000 {
		asns = append(asns, 70000+uint32(i))
	}
	got, err := c.Enrich(t.Context(), asns)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]sdk.ASInfo{
		1:     {Name: "LVLT-1", Description: "Level 3 Parent, LLC", Country: "US"},
		3320:  {Name: "DTAG", Description: "Internet service provider operations", Country: "DE"},
		13335: {Name: "CLOUDFLARENET", Country: "US"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Enrich over gRPC (-got +want):\n%s", diff)
	}
	if err := c.Configure(t.Context(), sdk.Config{"files": []string{filepath.Join(dir, "missing.txt")}}); err == nil ||
		!strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("Configure with a missing file over gRPC = %v", err)
	}
}

// BenchmarkEnrich: the distinct ASNs of a 100,000-row batch (20,000 of
// them, most known) through the gRPC glue against a table of 120,000 ASNs.
func BenchmarkEnrich(b *testing.B) {
	path := filepath.Join(b.TempDir(), "asn.txt")
	writeSynthetic(b, path, 120_000)
	log, _ := testLogger()
	c := sdktest.Enricher(b, newEnricher(log))
	if err := c.Configure(b.Context(), sdk.Config{"file": path}); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[uint32]bool{}
	var asns []uint32
	for len(asns) < 20_000 {
		asn := 1 + rng.Uint32N(60_000)
		if len(asns)%10 == 9 {
			asn = 4_000_000 + rng.Uint32N(1_000_000) // unknown
		}
		if !seen[asn] {
			seen[asn] = true
			asns = append(asns, asn)
		}
	}
	b.ReportAllocs()
	var known int
	for b.Loop() {
		got, err := c.Enrich(b.Context(), asns)
		if err != nil {
			b.Fatal(err)
		}
		known = len(got)
	}
	if known < 17_000 {
		b.Fatalf("%d ASNs named, want about 18,000", known)
	}
}
