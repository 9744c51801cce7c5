package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics, returns a config exactly when there is no
// error, and a config it returns renders to HCL that parses again.
// Seeds: every golden in.hcl and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join(goldenDir, "*", "in.hcl"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no golden inputs: %v", err)
	}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	// file() resolves against a real directory with files in it.
	name := filepath.Join(goldenDir, "env_and_file", "in.hcl")
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, diags := Parse(src, name)
		if (cfg == nil) != diags.HasErrors() {
			t.Fatalf("config %v with errors %v: want exactly one\n%s", cfg != nil, diags.HasErrors(), diags.Error())
		}
		if cfg == nil {
			return
		}
		text := cfg.Effective(maskNothing)
		if _, diags := Parse([]byte(text), name); diags.HasErrors() {
			t.Fatalf("effective config does not parse: %s\n%s", diags.Error(), text)
		}
	})
}
