package pluginhost

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lastfluss/lastfluss/sdk"
)

var testSchema = sdk.Schema{Attributes: []sdk.Attribute{
	{Name: "dsn", Type: sdk.TypeString, Required: true, Sensitive: true},
	{Name: "timeout", Type: sdk.TypeDuration, Default: "30s"},
	{Name: "batch", Type: sdk.TypeNumber, Default: 500.0},
	{Name: "verbose", Type: sdk.TypeBool},
	{Name: "tables", Type: sdk.TypeList, Default: []string{"flows"}},
}}

func TestDecodeConfig(t *testing.T) {
	t.Setenv("PLUGINHOST_TEST_DSN", "postgres://secret@db/flows")
	tests := []struct {
		name      string
		body      string
		want      sdk.Config
		wantDiags []string // file:line: summary
	}{
		{
			name: "defaults",
			body: `dsn = "postgres://x"`,
			want: sdk.Config{"dsn": "postgres://x", "timeout": 30 * time.Second, "batch": 500.0, "tables": []string{"flows"}},
		},
		{
			name: "all set, env() and file()",
			body: `
    dsn     = env("PLUGINHOST_TEST_DSN")
    timeout = "1m30s"
    batch   = 1000
    verbose = true
    tables  = ["a", file("table.txt")]`,
			want: sdk.Config{"dsn": "postgres://secret@db/flows", "timeout": 90 * time.Second, "batch": 1000.0, "verbose": true, "tables": []string{"a", "b"}},
		},
		{
			name:      "missing required",
			body:      `batch = 1`,
			wantDiags: []string{"lastfluss.hcl:4: Missing required argument"},
		},
		{
			name: "ill-typed and unknown",
			body: `
    dsn     = "x"
    batch   = "many"
    verbose = [true]
    colour  = "blue"
    timeout = "soon"`,
			wantDiags: []string{
				"lastfluss.hcl:7: Incorrect attribute value type",
				"lastfluss.hcl:8: Incorrect attribute value type",
				"lastfluss.hcl:9: Unsupported argument",
				"lastfluss.hcl:10: Invalid duration",
			},
		},
		{
			name: "bad duration",
			body: `
    dsn     = "x"
    timeout = "soon"`,
			wantDiags: []string{"lastfluss.hcl:7: Invalid duration"},
		},
		{
			name:      "unset env()",
			body:      `dsn = env("PLUGINHOST_TEST_UNSET")`,
			wantDiags: []string{"lastfluss.hcl:5: Invalid function argument"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := block(t, fmt.Sprintf(`
sink "db" {
  plugin = "sink-postgres"
  config {
    %s
  }
}`, tt.body))
			if err := os.WriteFile(filepath.Join(p.BaseDir, "table.txt"), []byte("b"), 0o644); err != nil {
				t.Fatal(err)
			}
			got, diags := decodeConfig(p, testSchema)
			var gotDiags []string
			for _, d := range diags {
				gotDiags = append(gotDiags, fmt.Sprintf("%s:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Summary))
			}
			if diff := cmp.Diff(gotDiags, tt.wantDiags); diff != "" {
				t.Errorf("diagnostics (-got +want):\n%s\n%v", diff, diags)
			}
			if tt.wantDiags == nil {
				if diff := cmp.Diff(got, tt.want); diff != "" {
					t.Errorf("config (-got +want):\n%s", diff)
				}
			}
		})
	}
}

func TestDecodeNoConfigBlock(t *testing.T) {
	p := block(t, `sink "db" { plugin = "sink-postgres" }`)
	_, diags := decodeConfig(p, testSchema)
	if len(diags) != 1 || diags[0].Summary != "Missing required argument" || diags[0].Subject.Filename != "lastfluss.hcl" {
		t.Errorf("diagnostics %v, want a missing argument pointing at the block", diags)
	}
}

func TestMasked(t *testing.T) {
	got := Masked(testSchema, sdk.Config{"dsn": "postgres://secret", "batch": 3.0})
	if diff := cmp.Diff(got, sdk.Config{"dsn": "(sensitive)", "batch": 3.0}); diff != "" {
		t.Errorf("masked (-got +want):\n%s", diff)
	}
}
