package config

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/config")

const goldenDir = "testdata/config"

// stubMachine makes the defaults that depend on the machine stable.
func stubMachine(t *testing.T) {
	t.Helper()
	oldHost, oldCPU, oldExe := hostname, numCPU, executable
	hostname = func() (string, error) { return "testhost", nil }
	numCPU = func() int { return 4 }
	executable = func() (string, error) { return "/opt/lastfluss/bin/lastfluss", nil }
	t.Cleanup(func() { hostname, numCPU, executable = oldHost, oldCPU, oldExe })
}

// setEnv sets the variables listed in a case's optional "env" file,
// NAME=VALUE per line.
func setEnv(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Fatalf("%s: %q is not NAME=VALUE", path, sc.Text())
		}
		t.Setenv(name, value)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// render is what `lastfluss check` prints: the diagnostics, if any, then
// the effective configuration when there is no error. Absolute paths under
// testdata/config read <cases>, so that the files do not depend on where
// the repository is.
func render(t *testing.T, in string) string {
	t.Helper()
	l := NewLoader()
	cfg, diags := l.Load(in)
	if (cfg == nil) != diags.HasErrors() {
		t.Fatalf("Load(%s) = config %v with errors %v: want exactly one", in, cfg != nil, diags.HasErrors())
	}
	var out bytes.Buffer
	if len(diags) > 0 {
		if err := l.WriteDiagnostics(&out, diags); err != nil {
			t.Fatal(err)
		}
	}
	if cfg != nil {
		out.WriteString(cfg.Effective(nil))
	}
	abs, err := filepath.Abs(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(out.String(), abs, "<cases>")
}

// TestGolden loads every testdata/config/<case>/in.hcl and compares what
// check would print with expected.txt. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no golden cases")
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			stubMachine(t)
			dir := filepath.Join(goldenDir, e.Name())
			setEnv(t, filepath.Join(dir, "env"))
			got := render(t, filepath.Join(dir, "in.hcl"))
			expected := filepath.Join(dir, "expected.txt")
			if *update {
				if err := os.WriteFile(expected, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(expected)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(got, string(want)); diff != "" {
				t.Errorf("%s (-got +want):\n%s", expected, diff)
			}
		})
	}
}
