package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func maskNothing(Plugin, string) bool { return false }

// Effective's output, parsed again, is the same configuration: it lists
// everything and nothing more.
func TestEffectiveRoundTrip(t *testing.T) {
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			stubMachine(t)
			dir := filepath.Join(goldenDir, e.Name())
			setEnv(t, filepath.Join(dir, "env"))
			cfg, diags := Load(filepath.Join(dir, "in.hcl"))
			if diags.HasErrors() {
				return // an error case
			}
			tested++
			text := cfg.Effective(maskNothing)
			again, diags := Parse([]byte(text), cfg.File)
			if diags.HasErrors() {
				t.Fatalf("effective config does not parse: %s\n%s", diags.Error(), text)
			}
			if diff := cmp.Diff(again, cfg, ignoreSource); diff != "" {
				t.Errorf("(-reparsed +loaded):\n%s", diff)
			}
			if diff := cmp.Diff(again.Effective(maskNothing), text); diff != "" {
				t.Errorf("effective config is not a fixed point (-second +first):\n%s", diff)
			}
		})
	}
	if tested < 5 {
		t.Errorf("only %d cases without errors", tested)
	}
}

func TestMaskHook(t *testing.T) {
	stubMachine(t)
	cfg := loadCase(t, "env_and_file")
	var seen []string
	out := cfg.Effective(func(p Plugin, path string) bool {
		seen = append(seen, p.Kind+"/"+p.Name+": "+path)
		return path == "batch_rows"
	})
	want := []string{
		"enrich/asnames: names",
		"sink/archive: url",
		"sink/archive: api_token",
		"sink/archive: batch_rows",
		"sink/archive: tags",
		"sink/archive: tls.ca_file",
		"sink/archive: tls.key_file",
	}
	if diff := cmp.Diff(seen, want); diff != "" {
		t.Errorf("mask calls (-got +want):\n%s", diff)
	}
	for _, line := range []string{`batch_rows = "(sensitive)"`, `api_token  = "s3cr3t"`, `key_file = "key.pem"`} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
	// A password inside a URL is masked whatever the hook says.
	if strings.Contains(out, "archiver:s3cr3t@") {
		t.Errorf("URL password shown:\n%s", out)
	}
	// The default hook hides every secret of the case.
	if def := cfg.Effective(nil); strings.Contains(def, "s3cr3t") {
		t.Errorf("secret shown with the default mask:\n%s", def)
	}
}

func TestMaskByName(t *testing.T) {
	var masked, shown []string
	for _, name := range []string{
		"password", "db_password", "passwd", "pass", "secret", "client_secret", "token", "api_token",
		"apikey", "api_key", "key", "key_file", "dsn", "tls.password", "PASSWORD", "auth-token", "secret_key",
		"file", "names", "url", "host", "port", "keyspace", "bypass", "monkey", "compass", "timeout", "tls.ca_file",
	} {
		if MaskByName(Plugin{}, name) {
			masked = append(masked, name)
		} else {
			shown = append(shown, name)
		}
	}
	wantShown := []string{"file", "names", "url", "host", "port", "keyspace", "bypass", "monkey", "compass", "timeout", "tls.ca_file"}
	if !slices.Equal(shown, wantShown) {
		t.Errorf("shown %v, want %v (masked %v)", shown, wantShown, masked)
	}
}
