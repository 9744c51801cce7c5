package pgsink

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lastfluss/lastfluss/sdk"
)

func TestParseSettings(t *testing.T) {
	const dsn = "postgres://u:pw@localhost/db"
	for _, tc := range []struct {
		name    string
		cfg     sdk.Config
		want    Settings
		wantErr []string
	}{
		{
			name: "defaults",
			cfg:  sdk.Config{"dsn": dsn},
			want: Settings{DSN: dsn, Table: Table{Name: "traffic"}, PoolSize: 4, StatementTimeout: 30 * time.Second},
		},
		{
			name: "as the core decodes it: defaults filled in, durations typed",
			cfg: sdk.Config{"dsn": dsn, "table": "lf.flows", "pool_size": 8.0,
				"statement_timeout": 2 * time.Minute, "legacy_interval": 300 * time.Second},
			want: Settings{DSN: dsn, Table: Table{Schema: "lf", Name: "flows"}, PoolSize: 8,
				StatementTimeout: 2 * time.Minute, LegacyInterval: 5 * time.Minute},
		},
		{
			name: "durations as strings",
			cfg:  sdk.Config{"dsn": dsn, "statement_timeout": "0s", "legacy_interval": "60s"},
			want: Settings{DSN: dsn, Table: Table{Name: "traffic"}, PoolSize: 4, LegacyInterval: time.Minute},
		},
		{
			name:    "everything wrong at once",
			cfg:     sdk.Config{"table": "traffic; DROP TABLE x", "pool_size": 2.5, "statement_timeout": "soon", "legacy_interval": "1500ms"},
			wantErr: []string{"dsn: required", "table:", "pool_size:", "statement_timeout:", "legacy_interval:"},
		},
		{
			name:    "bad dsn, password not echoed",
			cfg:     sdk.Config{"dsn": "postgres://u:s3cret@host:notaport/db", "table": "a.b.c", "pool_size": 0.0},
			wantErr: []string{"dsn: not a valid", "table:", "pool_size:"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSettings(tc.cfg)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(got, tc.want); diff != "" {
					t.Errorf("settings (-got +want):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestSchema(t *testing.T) {
	s := (&Sink{}).ConfigSchema()
	byName := map[string]sdk.Attribute{}
	for _, a := range s.Attributes {
		byName[a.Name] = a
	}
	dsn := byName["dsn"]
	if !dsn.Required || !dsn.Sensitive || dsn.Type != sdk.TypeString {
		t.Errorf("dsn attribute %+v: want a required, sensitive string", dsn)
	}
	got := map[string]any{}
	for _, a := range s.Attributes {
		got[a.Name+" "+string(a.Type)] = a.Default
	}
	want := map[string]any{
		"dsn string": nil, "table string": "traffic", "pool_size number": 4.0,
		"statement_timeout duration": "30s", "legacy_interval duration": nil,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("attributes and defaults (-got +want):\n%s", diff)
	}
	// The defaults the core fills in parse to the same settings as none.
	cfg := sdk.Config{"dsn": "postgres://x@y/z"}
	for _, a := range s.Attributes {
		if a.Default != nil {
			cfg[a.Name] = a.Default
		}
	}
	withDefaults, err := ParseSettings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bare, _ := ParseSettings(sdk.Config{"dsn": "postgres://x@y/z"})
	if diff := cmp.Diff(withDefaults, bare); diff != "" {
		t.Errorf("schema defaults differ from the built-in ones (-got +want):\n%s", diff)
	}
	info := (&Sink{}).Info()
	if info.Name != "sink-postgres" || info.Kind != sdk.KindSink || info.APIVersion != sdk.APIVersion {
		t.Errorf("Info = %+v", info)
	}
}

func TestParseTable(t *testing.T) {
	for in, want := range map[string]string{
		"traffic": `"traffic"`, "lf.traffic": `"lf"."traffic"`, "Traffic_2": `"Traffic_2"`,
	} {
		tb, err := ParseTable(in)
		if err != nil {
			t.Errorf("ParseTable(%q): %v", in, err)
			continue
		}
		if tb.Quoted() != want || tb.String() != in {
			t.Errorf("ParseTable(%q) = %s / %s", in, tb.Quoted(), tb)
		}
	}
	for _, in := range []string{"", "1x", "a.b.c", `tr"affic`, "a-b", strings.Repeat("x", 51)} {
		if _, err := ParseTable(in); err == nil {
			t.Errorf("ParseTable(%q) accepted", in)
		}
	}
}
