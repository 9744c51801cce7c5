package tssink

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/lastfluss/lastfluss/internal/pgtest"
	"github.com/lastfluss/lastfluss/plugins/sink-postgres/pgsink"
	"github.com/lastfluss/lastfluss/sdk"
)

func TestParseSettings(t *testing.T) {
	std := []Level{NewLevel(5 * time.Minute), NewLevel(time.Hour), NewLevel(day)}
	for _, c := range []struct {
		name string
		cfg  sdk.Config
		want Settings
		err  string // substring; "" for none
	}{
		{name: "defaults", cfg: sdk.Config{},
			want: Settings{ChunkInterval: day, Levels: std, CompressAfter: []time.Duration{7 * day, 30 * day, 30 * day, 30 * day}}},
		{name: "as the core sends defaults", cfg: sdk.Config{"chunk_interval": 6 * time.Hour, "rollups": []string{"5m", "1h", "1d"}},
			want: Settings{ChunkInterval: 6 * time.Hour, Levels: std, CompressAfter: []time.Duration{7 * day, 30 * day, 30 * day, 30 * day}}},
		{name: "retention and compression set",
			cfg: sdk.Config{"rollups": []string{"1m", "15m"}, "retention": []string{"2d", "forever", "1y"}, "compress_after": []string{"off", "2w", "30d"}},
			want: Settings{ChunkInterval: day, Levels: []Level{NewLevel(time.Minute), NewLevel(15 * time.Minute)},
				Retention: []time.Duration{2 * day, 0, year}, CompressAfter: []time.Duration{0, 2 * week, 30 * day}}},
		{name: "not a multiple", cfg: sdk.Config{"rollups": []string{"5m", "8m"}}, err: "not a multiple of 5m"},
		{name: "not dividing a day", cfg: sdk.Config{"rollups": []string{"7m"}}, err: "does not divide a day"},
		{name: "seconds", cfg: sdk.Config{"rollups": []string{"90s"}}, err: "whole minutes"},
		{name: "no level", cfg: sdk.Config{"rollups": []string{}}, err: "at least one level"},
		{name: "twice", cfg: sdk.Config{"rollups": []string{"5m", "5m"}}, err: "5m twice"},
		{name: "retention count", cfg: sdk.Config{"retention": []string{"30d"}}, err: "want 4 values"},
		{name: "retention word", cfg: sdk.Config{"retention": []string{"30d", "1y", "2y", "never"}}, err: `"never" is not a duration`},
		{name: "raw dropped before the rollup", cfg: sdk.Config{"retention": []string{"1h", "forever", "forever", "forever"}},
			err: "retention[0]: 1h drops rows before the 5m rollup has aggregated them; keep them longer than 65m"},
		{name: "1h dropped before 1d", cfg: sdk.Config{"retention": []string{"30d", "forever", "3d", "forever"}},
			err: "retention[2]: 3d drops rows before the 1d rollup"},
		{name: "compression in the refresh window", cfg: sdk.Config{"compress_after": []string{"1d", "30d", "30d", "2d"}},
			err: "compress_after[3]: 2d is inside the 1d rollup's refresh window"},
		{name: "chunk interval", cfg: sdk.Config{"chunk_interval": time.Second}, err: "chunk_interval"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseSettings(c.cfg)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, c.want); diff != "" {
				t.Errorf("settings (-got +want):\n%s", diff)
			}
		})
	}
}

func TestParseSpan(t *testing.T) {
	for s, want := range map[string]time.Duration{"30d": 30 * day, "2w": 14 * day, "1y": 365 * day, "90s": 90 * time.Second, "1h30m": 90 * time.Minute} {
		if got, err := ParseSpan(s); err != nil || got != want {
			t.Errorf("ParseSpan(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"d", "1.5d", "-1d", "x", ""} {
		if _, err := ParseSpan(s); err == nil {
			t.Errorf("ParseSpan(%q) accepted", s)
		}
	}
	for d, want := range map[time.Duration]string{5 * time.Minute: "5m", time.Hour: "1h", day: "1d", 90 * time.Second: "1m30s", 65 * time.Minute: "65m"} {
		if got := ShortSpan(d); got != want {
			t.Errorf("ShortSpan(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestPlanRefresh(t *testing.T) {
	levels := []Level{NewLevel(5 * time.Minute), NewLevel(time.Hour), NewLevel(day)}
	now := time.Date(2026, 12, 4, 12, 0, 30, 0, time.UTC)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	w := func(level int, from string, bucket time.Duration) Window {
		return Window{Level: level, From: at(from), To: at(from).Add(bucket)}
	}
	for _, c := range []struct {
		name      string
		start     string
		retention []time.Duration
		want      Plan
	}{
		{"current: the policies do it", "2026-12-04T11:59:00Z", nil, Plan{}},
		{"2 hours late: 5m", "2026-12-04T09:57:00Z", nil, Plan{Windows: []Window{w(0, "2026-12-04T09:55:00Z", 5*time.Minute)}}},
		{"6 hours late: 5m and 1h", "2026-12-04T06:07:00Z", nil, Plan{Windows: []Window{
			w(0, "2026-12-04T06:05:00Z", 5*time.Minute), w(1, "2026-12-04T06:00:00Z", time.Hour)}}},
		{"a week late: every level", "2026-11-27T23:59:00Z", []time.Duration{30 * day, 180 * day, 0, 0}, Plan{Windows: []Window{
			w(0, "2026-11-27T23:55:00Z", 5*time.Minute), w(1, "2026-11-27T23:00:00Z", time.Hour), w(2, "2026-11-27T00:00:00Z", day)}}},
		{"older than the raw retention: counted, nothing refreshed", "2026-11-01T10:00:00Z", []time.Duration{30 * day, 180 * day, 0, 0},
			Plan{TooOld: true}},
		{"5m rows gone: 5m refreshed, not above", "2026-11-01T10:00:00Z", []time.Duration{60 * day, 20 * day, 0, 0},
			Plan{Windows: []Window{w(0, "2026-11-01T10:00:00Z", 5*time.Minute)}}},
		{"the day's first rows dropped: not the day", "2026-11-02T10:00:00Z", []time.Duration{0, 0, 32*day + 2*time.Hour, 0},
			Plan{Windows: []Window{w(0, "2026-11-02T10:00:00Z", 5*time.Minute), w(1, "2026-11-02T10:00:00Z", time.Hour)}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := PlanRefresh(now, at(c.start), time.Minute, levels, c.retention)
			if diff := cmp.Diff(got, c.want); diff != "" {
				t.Errorf("plan (-got +want):\n%s", diff)
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	for _, c := range []struct {
		name string
		c    Capabilities
		want []string // substrings; none: no refusal
	}{
		{"no TimescaleDB", Capabilities{}, []string{"no TimescaleDB", "shared_preload_libraries = 'timescaledb'", "sink-postgres"}},
		{"Apache edition", Capabilities{Available: true, Installed: "2.17.2", License: "apache"},
			[]string{"TimescaleDB 2.17.2", "Apache-2 edition", "continuous aggregates", "timescaledb.license = 'timescale'", "sink-postgres"}},
		{"Community edition", Capabilities{Available: true, Installed: "2.17.2", License: "timescale"}, nil},
		{"available, not created yet", Capabilities{Available: true}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.c.Refusal()
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var fatal *pgsink.FatalError
			if !errors.As(err, &fatal) {
				t.Fatalf("refusal %v is not fatal", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestPlainPostgreSQLRefused: on a server without TimescaleDB, Configure
// fails with the fix and creates nothing.
func TestPlainPostgreSQLRefused(t *testing.T) {
	dsn := pgtest.NewDB(t)
	s := &Sink{Logger: quiet}
	t.Cleanup(s.Close)
	err := s.Configure(context.Background(), sdk.Config{"dsn": dsn})
	if err == nil || !strings.Contains(err.Error(), "no TimescaleDB") || !strings.Contains(err.Error(), `plugin = "sink-postgres"`) {
		t.Fatalf("Configure on plain PostgreSQL = %v, want the refusal naming the fix", err)
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var tables int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("%d tables created on a refused server", tables)
	}
	if err := s.Write(context.Background(), batchAt("c/x/1/1", time.Now().Truncate(time.Minute), time.Minute, 1)); err == nil || !strings.Contains(err.Error(), "no TimescaleDB") {
		t.Errorf("Write on plain PostgreSQL = %v, want the refusal", err)
	}
}

// TestIntervalRefused: a batch whose interval does not divide the first
// rollup bucket is refused with the fix; the database being down is no
// reason not to start.
func TestIntervalRefused(t *testing.T) {
	s := &Sink{Logger: quiet}
	t.Cleanup(s.Close)
	if err := s.Configure(context.Background(), sdk.Config{"dsn": "postgres://x@127.0.0.1:1/db?connect_timeout=5"}); err != nil {
		t.Fatalf("Configure with the database down: %v", err)
	}
	err := s.Write(context.Background(), batchAt("c/x/1/1", time.Now().Truncate(time.Minute), 10*time.Minute, 1))
	if err == nil || !strings.Contains(err.Error(), "does not divide the first rollup bucket 5m") {
		t.Errorf("Write of a 10m batch = %v, want the refusal", err)
	}
	err = s.Write(context.Background(), batchAt("c/x/1/2", time.Now().Truncate(time.Minute), time.Minute, 1))
	if err == nil || strings.Contains(err.Error(), "divide") {
		t.Errorf("Write of a 1m batch with the database down = %v, want a connection error", err)
	}
	if err := s.Configure(context.Background(), sdk.Config{"dsn": "postgres://x@127.0.0.1:1/db", "rollups": []string{"7m"}}); err == nil {
		t.Error("Configure accepted a 7m rollup")
	}
}

func batchAt(id string, start time.Time, interval time.Duration, n int) *sdk.Batch {
	b := &sdk.Batch{
		ID: id, CollectorID: "fra1", Start: start, Interval: interval,
		Interfaces: []sdk.Interface{{Exporter: "edge1", Name: "transit", Role: "transit"}, {Exporter: "edge1", Name: "IX", Role: "ix"}},
		ASNames:    map[uint32]sdk.ASInfo{174: {Name: "COGENT-174"}},
	}
	for i := range n {
		b.Rows = append(b.Rows, sdk.Row{Interface: uint32(i % 2), Direction: sdk.Direction(i / 2 % 2), RemoteASN: 174 + uint32(i%5),
			LocalASN: 64500, IPVersion: 4, Bytes: uint64(1000 * (i + 1)), Packets: uint64(i + 1), Flows: 1})
	}
	return b
}

func TestSchema(t *testing.T) {
	var names []string
	for _, a := range Schema().Attributes {
		names = append(names, a.Name)
		if a.Name == "dsn" && !a.Sensitive {
			t.Error("dsn is not sensitive")
		}
	}
	want := []string{"dsn", "table", "pool_size", "statement_timeout", "legacy_interval", "chunk_interval", "rollups", "retention", "compress_after"}
	if diff := cmp.Diff(names, want); diff != "" {
		t.Errorf("attributes (-got +want):\n%s", diff)
	}
	// The defaults the core fills in parse.
	cfg := sdk.Config{"dsn": "postgres://x@h/db"}
	for _, a := range Schema().Attributes {
		if a.Default != nil {
			cfg[a.Name] = a.Default
		}
	}
	cfg["chunk_interval"] = DefaultChunkInterval
	if _, err := ParseSettings(cfg); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
