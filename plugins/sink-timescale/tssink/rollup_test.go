package tssink

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lastfluss/lastfluss/internal/pgtest"
	"github.com/lastfluss/lastfluss/plugins/sink-postgres/pgsink"
	"github.com/lastfluss/lastfluss/sdk"
)

// timeBucketShim stands in for TimescaleDB's time_bucket on plain
// PostgreSQL: for buckets of whole minutes, hours and days TimescaleDB
// aligns to 2000-01-03 00:00 UTC, as date_bin with that origin does.
const timeBucketShim = `CREATE FUNCTION time_bucket(bucket_width interval, ts timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT date_bin(bucket_width, ts, timestamptz '2000-01-03 00:00:00+00') $$`

// plainRollups creates the rollups of t as plain views over the shim: the
// same SQL the continuous aggregates run, hierarchical as they are.
func plainRollups(t *testing.T, pool *pgxpool.Pool, tbl pgsink.Table, levels []Level) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, timeBucketShim); err != nil {
		t.Fatalf("time_bucket shim: %v", err)
	}
	for i, l := range levels {
		q := "CREATE VIEW " + Rollup(tbl, l).Quoted() + " AS " + RollupSelect(Source(tbl, levels, i), l.Bucket)
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// writeTraffic stores, through sink-postgres's writer, batches of a 1m
// interval over the span before end: several collectors, a partial batch
// beside a full one, overflow rows, random values. It returns the number
// of rows.
func writeTraffic(t *testing.T, pool *pgxpool.Pool, tbl pgsink.Table, end time.Time, span, step time.Duration) int {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	ifaces := []sdk.Interface{
		{Exporter: "edge1", Name: "transit-cogent", Role: "transit"},
		{Exporter: "edge1", Name: "ix-decix", Role: "ix"},
		{Exporter: "edge2", Name: "pni-google", Role: "pni"},
	}
	rows := 0
	seq := 0
	for start := end.Add(-span).Truncate(time.Minute); start.Before(end); start = start.Add(step) {
		for _, collector := range []string{"fra1", "fra2"} {
			seq++
			b := &sdk.Batch{
				ID: fmt.Sprintf("%s/%s/x/%d", collector, start.Format(time.RFC3339), seq), CollectorID: collector,
				Start: start, Interval: time.Minute, Interfaces: ifaces, Partial: seq%17 == 0,
			}
			for i := range 6 {
				b.Rows = append(b.Rows, sdk.Row{
					Interface: uint32(i % 3), Direction: sdk.Direction(i / 3), RemoteASN: uint32(174 + rng.IntN(3)),
					LocalASN: 64500, IPVersion: 4 + 2*uint8(rng.IntN(2)), Other: i == 5 && seq%5 == 0,
					Bytes: rng.Uint64N(1 << 40), Packets: rng.Uint64N(1 << 30), Flows: rng.Uint64N(1000),
				})
			}
			if _, err := pgsink.WriteBatch(ctx, pool, tbl, b); err != nil {
				t.Fatal(err)
			}
			rows += len(b.Rows)
		}
	}
	return rows
}

func newPlainDB(t *testing.T, tbl pgsink.Table) (*pgxpool.Pool, string) {
	t.Helper()
	dsn := pgtest.NewDB(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pgsink.Migrate(context.Background(), pool, tbl, 0, pgsink.Migrations, quiet); err != nil {
		t.Fatal(err)
	}
	return pool, dsn
}

// TestRollupTotals runs the rollup SQL on plain PostgreSQL: every level
// holds exactly the raw table's sums per bucket, interface and direction,
// and bandwidth = sum(bytes) × 8 / bucket seconds.
func TestRollupTotals(t *testing.T) {
	ctx := context.Background()
	tbl := pgsink.Table{Schema: "flows", Name: "traffic"}
	pool, _ := newPlainDB(t, tbl)
	settings, err := ParseSettings(sdk.Config{})
	if err != nil {
		t.Fatal(err)
	}
	plainRollups(t, pool, tbl, settings.Levels)
	end := time.Date(2026, 12, 4, 10, 3, 0, 0, time.UTC)
	n := writeTraffic(t, pool, tbl, end, 50*time.Hour, 7*time.Minute)
	if n < 1000 {
		t.Fatalf("only %d rows", n)
	}

	type sums struct {
		Bucket                time.Time
		Iface                 string
		Ingress               bool
		Bytes, Packets, Flows int64
		Rows                  int64
	}
	collect := func(q string, args ...any) []sums {
		t.Helper()
		rows, err := pool.Query(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[sums])
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out
	}
	for _, l := range settings.Levels {
		secs := int64(l.Bucket / time.Second)
		raw := collect(`SELECT date_bin($1, time, timestamptz '2000-01-03 00:00:00+00'), iface, ingress,
    sum(bytes)::bigint, sum(packets)::bigint, sum(flows)::bigint, 0::bigint
FROM flows.traffic GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, l.Bucket)
		rollup := collect(`SELECT time, iface, ingress, sum(bytes)::bigint, sum(packets)::bigint, sum(flows)::bigint, 0::bigint
FROM ` + Rollup(tbl, l).Quoted() + ` GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
		if len(raw) < 3 {
			t.Fatalf("%s: %d groups", l.Suffix(), len(raw))
		}
		if diff := cmp.Diff(rollup, raw); diff != "" {
			t.Errorf("%s rollup sums per bucket, interface, direction (-got +want):\n%s", l.Suffix(), diff)
		}
		// Every row: bandwidth from its bytes, interval_seconds the bucket.
		var bad int64
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+Rollup(tbl, l).Quoted()+`
WHERE bandwidth <> (bytes::numeric * 8 / $1)::real OR interval_seconds <> $1`, secs).Scan(&bad); err != nil {
			t.Fatal(err)
		}
		if bad != 0 {
			t.Errorf("%s: %d rows with bandwidth other than bytes × 8 / %d or another interval", l.Suffix(), bad, secs)
		}
		// The total as a dashboard adds it up: sum(bandwidth × interval) / 8.
		var rawBytes, levelBytes int64
		var rawBW, levelBW float64
		if err := pool.QueryRow(ctx, `SELECT (SELECT sum(bytes)::bigint FROM flows.traffic), (SELECT sum(bytes)::bigint FROM `+Rollup(tbl, l).Quoted()+`),
    (SELECT sum(bandwidth::float8 * interval_seconds) FROM flows.traffic), (SELECT sum(bandwidth::float8 * interval_seconds) FROM `+Rollup(tbl, l).Quoted()+`)`).
			Scan(&rawBytes, &levelBytes, &rawBW, &levelBW); err != nil {
			t.Fatal(err)
		}
		if rawBytes != levelBytes {
			t.Errorf("%s: total bytes %d, raw %d", l.Suffix(), levelBytes, rawBytes)
		}
		if d := (levelBW - rawBW) / rawBW; d > 1e-6 || d < -1e-6 {
			t.Errorf("%s: bandwidth × seconds %g, raw %g (relative %g)", l.Suffix(), levelBW, rawBW, d)
		}
	}
}

// TestTrafficFuncPicksLevel installs sink-timescale's dashboards' function
// on plain PostgreSQL (rollups as views) and checks which level answers:
// the interval_seconds of the rows tell.
func TestTrafficFuncPicksLevel(t *testing.T) {
	ctx := context.Background()
	tbl := pgsink.Table{Name: "traffic"}
	pool, _ := newPlainDB(t, tbl)
	settings, err := ParseSettings(sdk.Config{"retention": []string{"2d", "20d", "400d", "forever"}})
	if err != nil {
		t.Fatal(err)
	}
	plainRollups(t, pool, tbl, settings.Levels)
	now := time.Now().UTC()
	// Rows at every hour of the last 30 days, to be found at every level.
	writeTraffic(t, pool, tbl, now, 30*day, time.Hour)
	if _, err := pool.Exec(ctx, TrafficFunc(tbl, settings.Levels, settings.Retention)); err != nil {
		t.Fatalf("install function: %v", err)
	}
	for _, c := range []struct {
		name      string
		from, to  time.Duration // before now
		maxBucket any
		want      []int32
	}{
		{"6 hours: raw", 6 * time.Hour, 0, nil, []int32{60}},
		{"a day: raw", day, 0, nil, []int32{60}},
		{"3 days: 5m", 3 * day, 0, nil, []int32{300}},
		{"an hour 3 days ago: raw is kept 2 days, 5m", 3 * day, 3*day - time.Hour, nil, []int32{300}},
		{"10 days: 1h", 10 * day, 0, nil, []int32{3600}},
		{"25 days: 5m kept 20 days, 1h", 25 * day, 0, nil, []int32{3600}},
		{"29 days at most 5m: 5m is gone, raw is gone, the finest allowed", 29 * day, 28 * day, "5 minutes", []int32{300}},
		{"10 days at most 5m: 5m", 10 * day, 0, "5 minutes", []int32{300}},
		{"a day at most 5m: raw", day, 0, "5 minutes", []int32{60}},
		{"6 hours at most 1h: raw", 6 * time.Hour, 0, "1 hour", []int32{60}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, err := pool.Query(ctx, `SELECT DISTINCT interval_seconds FROM lastfluss_traffic($1, $2, $3::interval) ORDER BY 1`,
				now.Add(-c.from), now.Add(-c.to), c.maxBucket)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[int32])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, c.want); diff != "" {
				t.Errorf("levels answering (-got +want):\n%s", diff)
			}
		})
	}
	// A year: 1d, whose rows sum up to the raw table's.
	var levelBytes, rawBytes int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT sum(bytes)::bigint FROM lastfluss_traffic(now() - interval '365 days', now())),
    (SELECT sum(bytes)::bigint FROM traffic), (SELECT min(interval_seconds) FROM lastfluss_traffic(now() - interval '365 days', now()))`).
		Scan(&levelBytes, &rawBytes, new(int32)); err != nil {
		t.Fatal(err)
	}
	if levelBytes != rawBytes {
		t.Errorf("a year through the function: %d bytes, raw table %d", levelBytes, rawBytes)
	}
}
