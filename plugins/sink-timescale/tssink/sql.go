package tssink

import (
	"fmt"
	"strings"
	"time"

	"github.com/lastfluss/lastfluss/plugins/sink-postgres/pgsink"
)

// Rollup is the relation of a level: traffic_5m beside traffic.
func Rollup(t pgsink.Table, l Level) pgsink.Table {
	return pgsink.Table{Schema: t.Schema, Name: t.Name + "_" + l.Suffix()}
}

// Source is the relation level i is built from: the table for the first
// level, the level before for the others (hierarchical aggregates).
func Source(t pgsink.Table, levels []Level, i int) pgsink.Table {
	if i == 0 {
		return t
	}
	return Rollup(t, levels[i-1])
}

// seconds is d as an SQL interval literal.
func seconds(d time.Duration) string {
	return fmt.Sprintf("interval '%d seconds'", int64(d/time.Second))
}

// RollupSelect is the query of a rollup of src into buckets of b: the
// traffic columns (no id), with exact sums of bytes, packets and flows, and
// bandwidth = sum(bytes) × 8 / bucket seconds (not an average of rows, so
// that rows of several collectors or a partial interval add up right).
// TimescaleDB runs it as a continuous aggregate; tests run it as a plain
// view with a time_bucket over date_bin.
func RollupSelect(src pgsink.Table, b time.Duration) string {
	secs := int64(b / time.Second)
	bucket := fmt.Sprintf("time_bucket(%s, time)", seconds(b))
	return fmt.Sprintf(`SELECT %[1]s AS time,
    (sum(bytes) * 8 / %[2]d.0)::real AS bandwidth,
    iface, ingress, remote_asn, local_asn, exporter, role, ip_version,
    sum(bytes)::bigint AS bytes, sum(packets)::bigint AS packets, sum(flows)::bigint AS flows,
    %[2]d AS interval_seconds, collector, other
FROM %[3]s
GROUP BY %[1]s, iface, ingress, remote_asn, local_asn, exporter, role, ip_version, collector, other`,
		bucket, secs, src.Quoted())
}

// CreateRollup is the statement that creates level i as a continuous
// aggregate, empty (it is filled by a refresh before any retention runs).
func CreateRollup(t pgsink.Table, levels []Level, i int) string {
	return "CREATE MATERIALIZED VIEW IF NOT EXISTS " + Rollup(t, levels[i]).Quoted() + `
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
` + RollupSelect(Source(t, levels, i), levels[i].Bucket) + `
WITH NO DATA`
}

// Span limits of the dashboards' function: raw rows answer ranges up to
// rawPoints first-level buckets (about a day at 5m), a rollup ranges of up
// to levelPoints of its buckets (a week of 5m, 83 days of 1h).
const (
	rawPoints   = 300
	levelPoints = 2000
)

// TrafficFunc is the dashboards' function lastfluss_<table>(from, to,
// max_bucket) over the raw table and its rollups. It answers from the
// finest relation that (1) max_bucket allows, (2) keeps rows as old as
// from_time and (3) gives a reasonable number of points for the range;
// failing (3) for all, from the coarsest that meets (1) and (2); failing
// those, from the coarsest that max_bucket allows.
func TrafficFunc(t pgsink.Table, levels []Level, retention []time.Duration) string {
	type rel struct {
		name      string
		bucket    time.Duration // 0: raw
		maxSpan   time.Duration
		retention time.Duration
	}
	rels := []rel{{name: t.Quoted(), maxSpan: rawPoints * levels[0].Bucket, retention: retention[0]}}
	for i, l := range levels {
		rels = append(rels, rel{Rollup(t, l).Quoted(), l.Bucket, levelPoints * l.Bucket, retention[i+1]})
	}
	allowed := func(r rel) string {
		if r.bucket == 0 {
			return "true"
		}
		return "(max_bucket IS NULL OR max_bucket >= " + seconds(r.bucket) + ")"
	}
	covers := func(r rel) string {
		if r.retention == 0 {
			return "true"
		}
		return "from_time >= now() - " + seconds(r.retention)
	}
	cols := strings.Fields(strings.ReplaceAll(pgsink.ColumnList, ",", " "))
	for i, c := range cols {
		cols[i] = "r." + c
	}
	ret := func(r rel) string {
		return "RETURN QUERY SELECT " + strings.Join(cols, ", ") + " FROM " + r.name +
			" r WHERE r.time BETWEEN from_time AND to_time; RETURN;"
	}
	var b strings.Builder
	b.WriteString(t.FuncSignature() + `
LANGUAGE plpgsql STABLE AS $f$
#variable_conflict use_column
DECLARE
    span interval := to_time - from_time;
BEGIN
    -- The finest level that fits the range.
`)
	for _, r := range rels {
		fmt.Fprintf(&b, "    IF %s AND %s AND span <= %s THEN %s END IF;\n", allowed(r), covers(r), seconds(r.maxSpan), ret(r))
	}
	b.WriteString("    -- A long range: the coarsest level that keeps it.\n")
	for i := len(rels) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "    IF %s AND %s THEN %s END IF;\n", allowed(rels[i]), covers(rels[i]), ret(rels[i]))
	}
	b.WriteString("    -- Older than every level keeps: the coarsest allowed.\n")
	for i := len(rels) - 1; i > 0; i-- {
		fmt.Fprintf(&b, "    IF %s THEN %s END IF;\n", allowed(rels[i]), ret(rels[i]))
	}
	b.WriteString("    " + ret(rels[0]) + "\nEND\n$f$;\n")
	fmt.Fprintf(&b, `COMMENT ON FUNCTION %s(timestamptz, timestamptz, interval) IS
    'Lastfluss: the rows of %s or of a rollup of it (the finest that fits the range) between from_time and to_time, for dashboards';`,
		t.Func(), t.String())
	return b.String()
}
