package tssink

// Tests that need a server with TimescaleDB ($LASTFLUSS_TIMESCALE_DSN).
// Without one they say so on stderr and skip: they are the only tests of
// this package allowed to.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/lastfluss/lastfluss/sdk"
)

func tsConnect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func tsInt(t *testing.T, conn *pgx.Conn, q string, args ...any) int64 {
	t.Helper()
	var n *int64
	if err := conn.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n == nil {
		return 0
	}
	return *n
}

// jobs lists the policies as "proc relation" strings with their ids.
func jobs(t *testing.T, conn *pgx.Conn) map[string]int64 {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT j.proc_name || ' ' || coalesce(c.view_name, j.hypertable_name), j.job_id
FROM timescaledb_information.jobs j
LEFT JOIN timescaledb_information.continuous_aggregates c
  ON c.materialization_hypertable_schema = j.hypertable_schema AND c.materialization_hypertable_name = j.hypertable_name
WHERE j.proc_name LIKE 'policy_%' AND j.hypertable_name IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			t.Fatal(err)
		}
		out[k] = id
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out
}

func TestTimescaleFreshDatabase(t *testing.T) {
	dsn := needTimescale(t)
	ctx := context.Background()
	s := &Sink{Logger: quiet}
	t.Cleanup(s.Close)
	if err := s.Configure(ctx, sdk.Config{"dsn": dsn, "chunk_interval": 6 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pg.Ready(ctx); err != nil {
		t.Fatalf("set-up: %v", err)
	}
	conn := tsConnect(t, dsn)
	var chunk time.Duration
	if err := conn.QueryRow(ctx, "SELECT time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'traffic'").Scan(&chunk); err != nil {
		t.Fatal(err)
	}
	if chunk != 6*time.Hour {
		t.Errorf("chunk interval %v, want 6h", chunk)
	}
	if tsInt(t, conn, "SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'traffic'") != 1 {
		t.Fatal("traffic is not a hypertable")
	}
	if n := tsInt(t, conn, "SELECT count(*) FROM timescaledb_information.continuous_aggregates WHERE view_name IN ('traffic_5m', 'traffic_1h', 'traffic_1d')"); n != 3 {
		t.Fatalf("%d rollups, want 3", n)
	}
	got := jobs(t, conn)
	want := []string{
		"policy_refresh_continuous_aggregate traffic_5m", "policy_refresh_continuous_aggregate traffic_1h", "policy_refresh_continuous_aggregate traffic_1d",
		"policy_compression traffic", "policy_compression traffic_5m", "policy_compression traffic_1h", "policy_compression traffic_1d",
		"policy_retention traffic", "policy_retention traffic_5m", "policy_retention traffic_1h", // 1d: forever
	}
	for _, w := range want {
		if _, ok := got[w]; !ok {
			t.Errorf("no job %q; jobs: %v", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d jobs, want %d: %v", len(got), len(want), got)
	}

	// The test runs the jobs itself (CALL run_job): the scheduler must
	// not run them at the same time.
	for k, id := range got {
		if _, err := conn.Exec(ctx, "SELECT alter_job($1, scheduled => false)", id); err != nil {
			t.Fatalf("pause %s: %v", k, err)
		}
	}

	// Current batches, and one five days late: refreshed at once.
	now := time.Now().UTC().Truncate(time.Minute)
	var total int64
	for i := range 90 {
		start := now.Add(-time.Duration(90-i) * time.Minute)
		b := batchAt(fmt.Sprintf("fra1/%s/x/%d", start.Format(time.RFC3339), i), start, time.Minute, 20)
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	late := now.Add(-5 * day)
	before := s.refresh.Load()
	if err := s.Write(ctx, batchAt("fra1/late/x/1", late, time.Minute, 20)); err != nil {
		t.Fatal(err)
	}
	if n := s.refresh.Load() - before; n != 3 {
		t.Errorf("%d refreshes for the late batch, want 3 (5m, 1h, 1d)", n)
	}
	total = tsInt(t, conn, "SELECT sum(bytes)::bigint FROM traffic")

	// Run the refresh policies as the scheduler would, level by level,
	// then read the materialised rows only.
	for _, l := range []string{"traffic_5m", "traffic_1h", "traffic_1d"} {
		if _, err := conn.Exec(ctx, "CALL run_job($1)", got["policy_refresh_continuous_aggregate "+l]); err != nil {
			t.Fatalf("run refresh job of %s: %v", l, err)
		}
		if _, err := conn.Exec(ctx, "ALTER MATERIALIZED VIEW "+l+" SET (timescaledb.materialized_only = true)"); err != nil {
			t.Fatal(err)
		}
	}
	// The late batch is materialised everywhere.
	lateBytes := tsInt(t, conn, "SELECT sum(bytes)::bigint FROM traffic WHERE time = $1", late)
	for _, l := range []string{"traffic_5m", "traffic_1h", "traffic_1d"} {
		if got := tsInt(t, conn, "SELECT sum(bytes)::bigint FROM "+l+" WHERE time <= $1 AND time > $1 - interval '1 day'", late); got != lateBytes {
			t.Errorf("%s holds %d bytes of the late batch, want %d", l, got, lateBytes)
		}
	}
	// Up to the policies' end: the same totals as the raw table.
	for _, c := range []struct {
		rel string
		end time.Duration
	}{{"traffic_5m", 5 * time.Minute}, {"traffic_1h", time.Hour}} {
		cut := now.Add(-c.end).Truncate(c.end)
		raw := tsInt(t, conn, "SELECT sum(bytes)::bigint FROM traffic WHERE time < $1", cut)
		if got := tsInt(t, conn, "SELECT sum(bytes)::bigint FROM "+c.rel+" WHERE time < $1", cut); got != raw {
			t.Errorf("%s materialised %d bytes before %v, raw %d", c.rel, got, cut, raw)
		}
	}
	for _, l := range []string{"traffic_5m", "traffic_1h", "traffic_1d"} {
		if _, err := conn.Exec(ctx, "ALTER MATERIALIZED VIEW "+l+" SET (timescaledb.materialized_only = false)"); err != nil {
			t.Fatal(err)
		}
		if got := tsInt(t, conn, "SELECT sum(bytes)::bigint FROM "+l); got != total {
			t.Errorf("%s (real-time) holds %d bytes, raw %d", l, got, total)
		}
	}
	// The other policies run.
	for k, id := range got {
		if _, err := conn.Exec(ctx, "CALL run_job($1)", id); err != nil {
			t.Errorf("run_job %s: %v", k, err)
		}
	}
	if got := tsInt(t, conn, "SELECT sum(bytes)::bigint FROM lastfluss_traffic(now() - interval '400 days', now())"); got != total {
		t.Errorf("the dashboards' function over a year: %d bytes, want %d", got, total)
	}

	// A restart, and a second collector at once, change nothing.
	s2, s3 := &Sink{Logger: quiet}, &Sink{Logger: quiet}
	t.Cleanup(s2.Close)
	t.Cleanup(s3.Close)
	errs := make(chan error, 2)
	go func() { errs <- s2.Configure(ctx, sdk.Config{"dsn": dsn}) }()
	go func() { errs <- s3.Configure(ctx, sdk.Config{"dsn": dsn}) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*Sink{s2, s3} {
		if _, err := s.pg.Ready(ctx); err != nil {
			t.Fatalf("set-up at a restart: %v", err)
		}
	}
	if diff := cmp.Diff(jobs(t, conn), got); diff != "" {
		t.Errorf("jobs after a restart (-got +want):\n%s", diff)
	}

	// Another retention: only those jobs change; "forever" removes one.
	s4 := &Sink{Logger: quiet}
	t.Cleanup(s4.Close)
	if err := s4.Configure(ctx, sdk.Config{"dsn": dsn, "chunk_interval": 6 * time.Hour, "retention": []string{"10d", "180d", "forever", "forever"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s4.pg.Ready(ctx); err != nil {
		t.Fatalf("set-up with another retention: %v", err)
	}
	now2 := jobs(t, conn)
	if now2["policy_retention traffic"] == got["policy_retention traffic"] || now2["policy_retention traffic_5m"] != got["policy_retention traffic_5m"] {
		t.Errorf("retention jobs before %v, after %v: want only traffic's replaced", got, now2)
	}
	if _, ok := now2["policy_retention traffic_1h"]; ok {
		t.Error("traffic_1h keeps its retention job after \"forever\"")
	}
	var dropAfter time.Duration
	if err := conn.QueryRow(ctx, `SELECT (config->>'drop_after')::interval FROM timescaledb_information.jobs WHERE job_id = $1`,
		now2["policy_retention traffic"]).Scan(&dropAfter); err != nil {
		t.Fatal(err)
	}
	if dropAfter != 10*day {
		t.Errorf("raw retention %v, want 10 days", dropAfter)
	}
	// A batch older than the raw retention is stored, counted, and not
	// refreshed into the rollups.
	old := now.Add(-12 * day)
	before = s4.refresh.Load()
	if err := s4.Write(ctx, batchAt("fra1/old/x/1", old, time.Minute, 5)); err != nil {
		t.Fatal(err)
	}
	if s4.TooOld() != 1 || s4.refresh.Load() != before {
		t.Errorf("too old batches %d, refreshes %d: want 1 and none", s4.TooOld(), s4.refresh.Load()-before)
	}
}

// TestTimescaleTakeOver converts a first-Lastfluss table with rows in
// place, plain or already a hypertable (its README told users to run
// create_hypertable): no row lost, no retention by default, the rollups
// filled with the old rows at once.
func TestTimescaleTakeOver(t *testing.T) {
	for _, hyper := range []bool{false, true} {
		t.Run(fmt.Sprintf("hypertable=%v", hyper), func(t *testing.T) { takeOver(t, hyper) })
	}
}

func takeOver(t *testing.T, hyper bool) {
	dsn := needTimescale(t)
	ctx := context.Background()
	conn := tsConnect(t, dsn)
	if _, err := conn.Exec(ctx, `CREATE TABLE traffic (
    id BIGSERIAL, time TIMESTAMPTZ NOT NULL, bandwidth REAL NOT NULL, iface TEXT,
    ingress BOOLEAN NOT NULL, remote_asn BIGINT, local_asn BIGINT, PRIMARY KEY(id, time));
INSERT INTO traffic (time, bandwidth, iface, ingress, remote_asn, local_asn)
SELECT now() - g * interval '1 minute', 8000, 'IX ' || (g % 3), g % 2 = 0, 174 + g % 7, 64500
FROM generate_series(1, 5000) g`); err != nil {
		t.Fatal(err)
	}
	if hyper {
		if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS timescaledb CASCADE;
SELECT create_hypertable('traffic', 'time', migrate_data => true)`); err != nil {
			t.Fatal(err)
		}
	}
	s := &Sink{Logger: quiet}
	t.Cleanup(s.Close)
	if err := s.Configure(ctx, sdk.Config{"dsn": dsn, "legacy_interval": time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pg.Ready(ctx); err != nil {
		t.Fatalf("set-up: %v", err)
	}
	if n := tsInt(t, conn, "SELECT count(*) FROM traffic"); n != 5000 {
		t.Errorf("%d rows after the take-over, want 5000", n)
	}
	if tsInt(t, conn, "SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'traffic'") != 1 {
		t.Error("traffic is not a hypertable")
	}
	for k := range jobs(t, conn) {
		if len(k) > len("policy_retention") && k[:len("policy_retention")] == "policy_retention" {
			t.Errorf("retention job %s on a table that held rows", k)
		}
	}
	// 60000 bytes per old row (8000 bit/s × 60 s / 8), in every rollup.
	for _, l := range []string{"traffic_5m", "traffic_1h", "traffic_1d"} {
		if got := tsInt(t, conn, "SELECT sum(bytes)::bigint FROM "+l); got != 5000*60000 {
			t.Errorf("%s holds %d bytes, want %d", l, got, 5000*60000)
		}
	}
	// The first Lastfluss's dashboard SQL still runs.
	if n := tsInt(t, conn, `SELECT count(*) FROM (SELECT time, sum(bandwidth) as "bandwidth", iface || ' OUT' as "metric"
FROM traffic WHERE ingress = false and time BETWEEN now() - interval '1 day' AND now() GROUP BY time, iface ORDER BY time) x`); n == 0 {
		t.Error("the Interfaces dashboard's query returns nothing")
	}
}

// TestTimescaleApacheRefused: the Apache-2 edition (no continuous
// aggregates) is refused with the fix, before anything is created.
func TestTimescaleApacheRefused(t *testing.T) {
	dsn := needServer(t, ApacheDSNEnv, "TimescaleDB's Apache-2 edition (timescaledb.license = 'apache')")
	s := &Sink{Logger: quiet}
	t.Cleanup(s.Close)
	err := s.Configure(context.Background(), sdk.Config{"dsn": dsn})
	if err == nil || !strings.Contains(err.Error(), "Apache-2 edition") || !strings.Contains(err.Error(), "timescaledb.license = 'timescale'") {
		t.Fatalf("Configure on an Apache-only TimescaleDB = %v, want the refusal naming the fix", err)
	}
	conn := tsConnect(t, dsn)
	if n := tsInt(t, conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); n != 0 {
		t.Errorf("%d tables created on a refused server", n)
	}
}
