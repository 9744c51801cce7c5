package importv1

import (
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/jackc/pgx/v5"
	"gopkg.in/yaml.v3"

	"github.com/lastfluss/lastfluss/core/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden converts every testdata/<case>/{settings,interfaces}.yaml and
// compares with expected.hcl (or expected-error.txt); a converted config
// must load with config.Parse and say what the YAML said.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			settings := read(t, filepath.Join(dir, "settings.yaml"))
			interfaces := read(t, filepath.Join(dir, "interfaces.yaml"))
			out, err := Convert(context.Background(), settings, interfaces, Options{})
			got, golden := string(out), filepath.Join(dir, "expected.hcl")
			if err != nil {
				got, golden = err.Error()+"\n", filepath.Join(dir, "expected-error.txt")
			}
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run with -update to create it; conversion error: %v)", rerr, err)
			}
			if diff := cmp.Diff(got, string(want)); diff != "" {
				t.Errorf("%s (-got +want):\n%s", golden, diff)
			}
			if err == nil {
				checkLoads(t, out, settings, interfaces)
			}
		})
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkLoads parses out as the daemon would and compares what it holds with
// the YAML: exporters by address, interfaces with ifIndex and sampling rate,
// the workers, the interval, and the sink's DSN with the password from the
// environment.
func checkLoads(t *testing.T, out, settingsYAML, interfacesYAML []byte) {
	t.Helper()
	const password = `pw with spaces, "quotes" and ${x}`
	t.Setenv(PasswordEnv, password)
	cfg, diags := config.Parse(out, "lastfluss.hcl")
	if diags.HasErrors() {
		t.Fatalf("the converted config does not load: %v", diags)
	}
	var s Settings
	var ifaces []Interface
	if err := yaml.Unmarshal(settingsYAML, &s); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(interfacesYAML, &ifaces); err != nil {
		t.Fatal(err)
	}

	type iface struct {
		Name    string
		IfIndex uint32
		Rate    uint32
	}
	got := map[string][]iface{}
	for _, e := range cfg.Exporters {
		for _, i := range e.Interfaces {
			got[e.Address.String()] = append(got[e.Address.String()], iface{i.Name, i.IfIndex, i.SamplingRate})
		}
	}
	want := map[string][]iface{}
	for _, i := range ifaces {
		addr := net.ParseIP(i.Host).String() // unmaps ::ffff:a.b.c.d
		want[addr] = append(want[addr], iface{i.Name, uint32(i.ID), uint32(i.Sample)})
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("exporters and interfaces (-got +want):\n%s", diff)
	}
	if s.Netflow.Threads > 0 && (len(cfg.Listen) != 1 || cfg.Listen[0].Workers != s.Netflow.Threads) {
		t.Errorf("listen = %+v, want %d workers", cfg.Listen, s.Netflow.Threads)
	}
	if p := time.Duration(s.Aggregation.Period) * time.Second; time.Hour%p == 0 && cfg.Interval != p {
		t.Errorf("interval %v, want %v", cfg.Interval, p)
	}

	if len(cfg.Sinks) != 1 || cfg.Sinks[0].Plugin != "sink-postgres" {
		t.Fatalf("sinks = %+v, want one sink-postgres", cfg.Sinks)
	}
	attrs, d := cfg.Sinks[0].Config.JustAttributes()
	if d.HasErrors() {
		t.Fatal(d)
	}
	val := func(name string) string {
		t.Helper()
		a, ok := attrs[name]
		if !ok {
			t.Fatalf("sink config lacks %s", name)
		}
		v, d := a.Expr.Value(config.EvalContext(cfg.Sinks[0].BaseDir))
		if d.HasErrors() {
			t.Fatal(d)
		}
		return v.AsString()
	}
	if got, want := val("legacy_interval"), (time.Duration(s.Aggregation.Period) * time.Second).String(); got != want {
		// 60s is written "60s", time.Duration says "1m0s".
		if d, err := time.ParseDuration(got); err != nil || d.String() != want {
			t.Errorf("legacy_interval %q, want %s", got, want)
		}
	}
	pc, err := pgx.ParseConfig(val("dsn"))
	if err != nil {
		t.Fatalf("dsn does not parse: %v", err)
	}
	db := s.Database
	wantPass := ""
	if db.Pass != "" {
		wantPass = password
	}
	wantUser := db.User
	if wantUser == "" {
		wantUser = pc.User // pgx's default: the system user
	}
	gotDB := []any{pc.Database, pc.User, pc.Password}
	if diff := cmp.Diff(gotDB, []any{db.Name, wantUser, wantPass}); diff != "" {
		t.Errorf("dsn database, user, password (-got +want):\n%s", diff)
	}
	if db.Host != "" && pc.Host != db.Host || db.Port != 0 && int(pc.Port) != db.Port {
		t.Errorf("dsn host %s:%d, want %s:%d", pc.Host, pc.Port, db.Host, db.Port)
	}
	if strings.Contains(string(out), db.Pass) && db.Pass != "" {
		t.Errorf("the password of settings.yaml is in the output")
	}
}

// TestPasswordEnvUnset: without the variable, loading fails and names it.
func TestPasswordEnvUnset(t *testing.T) {
	out, err := Convert(context.Background(), read(t, "testdata/compat/settings.yaml"), read(t, "testdata/compat/interfaces.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	os.Unsetenv(PasswordEnv)
	_, diags := config.Parse(out, "lastfluss.hcl")
	if !diags.HasErrors() || !strings.Contains(diags.Error(), PasswordEnv) {
		t.Errorf("load without %s: %v, want an error naming it", PasswordEnv, diags)
	}
}

func TestRole(t *testing.T) {
	for _, c := range []struct{ name, role string }{
		{"some transit provider", "transit"},
		{"Transit Cogent", "transit"},
		{"some internet exchange", "ix"},
		{"DE-CIX IX", "ix"},
		{"PNI Google", "pni"},
		{"PNI at the IX", "pni"},
		{"private peering", "peering"},
		{"Peering LAN", "peering"},
		{"phoenix", "other"}, // "ix" only in upper case
		{"pni lowercase", "other"},
		{"", "other"},
	} {
		if got, _ := Role(c.name); got != c.role {
			t.Errorf("Role(%q) = %s, want %s", c.name, got, c.role)
		}
	}
}

// TestHostName resolves a host given by name with the system's resolver:
// one address becomes the exporter's, several are refused.
func TestHostName(t *testing.T) {
	ctx := context.Background()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", "localhost")
	if err != nil {
		t.Fatalf("this machine does not resolve localhost: %v", err)
	}
	ifaces := []byte("- name: lo\n  host: localhost\n  id: 1\n")
	out, err := Convert(ctx, read(t, "testdata/compat/settings.yaml"), ifaces, Options{})
	uniq := map[string]bool{}
	for _, a := range addrs {
		uniq[a.Unmap().String()] = true
	}
	if len(uniq) == 1 {
		if err != nil {
			t.Fatal(err)
		}
		want := `address = "` + addrs[0].Unmap().String() + `" # host "localhost"`
		if !strings.Contains(string(out), want) || !strings.Contains(string(out), `exporter "localhost"`) {
			t.Errorf("output lacks exporter \"localhost\" and %s:\n%s", want, out)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), "resolves to") {
		t.Errorf("localhost resolves to %v: Convert = %v, want a refusal", addrs, err)
	}
}

// TestHCLSyntaxOfNames: names with quotes and template sequences come back
// unchanged.
func TestHCLSyntaxOfNames(t *testing.T) {
	for _, name := range []string{`a "b" c`, `${x}`, `%{if}`, `back\slash`, "ünïcödé"} {
		src := "a = " + quote(name) + "\n"
		f, diags := hclParse(src)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", src, diags)
		}
		attrs, _ := f.Body.JustAttributes()
		v, diags := attrs["a"].Expr.Value(nil)
		if diags.HasErrors() || v.AsString() != name {
			t.Errorf("quote(%q) reads back as %#v (%v)", name, v, diags)
		}
	}
}

func hclParse(src string) (*hcl.File, hcl.Diagnostics) {
	return hclsyntax.ParseConfig([]byte(src), "t.hcl", hcl.InitialPos)
}
