package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func eval(t *testing.T, src, dir string) (cty.Value, hcl.Diagnostics) {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "expr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %q: %s", src, diags)
	}
	return expr.Value(EvalContext(dir))
}

func TestEvalContextFunctions(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"sub/a.txt": "alpha\n",
		"bad.bin":   "\xff\xfe",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("LASTFLUSS_TEST_SET", "value")
	t.Setenv("LASTFLUSS_TEST_EMPTY", "")

	for _, tc := range []struct {
		src     string
		want    string // the value, or a part of the error when wantErr
		wantErr bool
	}{
		{`env("LASTFLUSS_TEST_SET")`, "value", false},
		{`env("LASTFLUSS_TEST_EMPTY")`, "", false}, // set but empty is a value
		{`env("LASTFLUSS_TEST_UNSET")`, `environment variable "LASTFLUSS_TEST_UNSET" is not set`, true},
		{`env("")`, "must not be empty", true},
		{`env(null)`, "null", true},
		{`file("sub/a.txt")`, "alpha\n", false},
		{`file("` + filepath.Join(dir, "sub", "a.txt") + `")`, "alpha\n", false},
		{`file("missing.txt")`, `cannot read file "missing.txt": no such file or directory`, true},
		{`file("sub")`, `cannot read file "sub": not a regular file`, true},
		{`file("/dev/zero")`, `not a regular file`, true},
		{`file("bad.bin")`, "not valid UTF-8", true},
		{`"${env("LASTFLUSS_TEST_SET")}-${file("sub/a.txt")}"`, "value-alpha\n", false},
		{`upper("x")`, "unknown function", true},
	} {
		v, diags := eval(t, tc.src, dir)
		if tc.wantErr {
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) {
				t.Errorf("%s: diagnostics %q, want an error containing %q", tc.src, diags.Error(), tc.want)
			}
			continue
		}
		if diags.HasErrors() {
			t.Errorf("%s: %s", tc.src, diags.Error())
			continue
		}
		if v.AsString() != tc.want {
			t.Errorf("%s = %q, want %q", tc.src, v.AsString(), tc.want)
		}
	}
}
