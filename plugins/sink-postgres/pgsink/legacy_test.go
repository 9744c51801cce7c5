package pgsink

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/lastfluss/lastfluss/internal/pgtest"
	"github.com/lastfluss/lastfluss/sdk"
)

// legacyDDL is the first Lastfluss's table, verbatim from seed/COMPAT.md.
const legacyDDL = `CREATE TABLE IF NOT EXISTS traffic (
    id BIGSERIAL,
    time TIMESTAMPTZ NOT NULL,
    bandwidth REAL NOT NULL,
    iface TEXT,
    ingress BOOLEAN NOT NULL,
    remote_asn BIGINT,
    local_asn BIGINT,
    PRIMARY KEY(id, time)
);`

// trow is a row as the dashboards see it.
type trow struct {
	Time      time.Time
	Bandwidth float32
	Iface     string
	Ingress   bool
	RemoteASN int64
	LocalASN  int64
}

func createLegacy(t *testing.T, conn *pgx.Conn) { t.Helper(); exec(t, conn, legacyDDL) }

// legacyRows are rows as the first importer wrote them: stamped at flush
// time (drifting, not on the minute), AS 0 stored as 0, bandwidth in bit/s.
// Bandwidths are whole numbers so that sums are exact in REAL, and the
// per-AS totals differ so that the TOP 10 order is defined.
func legacyRows(base time.Time) []trow {
	base = base.Truncate(time.Microsecond)
	remotes := []int64{174, 3320, 0, 15169, 13335, 6939, 1299, 2914, 3356, 6453, 9002, 8075}
	locals := []int64{0, 64500, 64501}
	var rows []trow
	for p := range 3 {
		at := base.Add(time.Duration(p) * (61*time.Second + 300*time.Millisecond))
		for j, remote := range remotes {
			for f, iface := range []string{"Cogent Transit", "DECIX IX"} {
				for d, in := range []bool{true, false} {
					rows = append(rows, trow{
						Time:      at,
						Bandwidth: float32((len(remotes)-j)*10_000 + p*100 + f*10 + d*3 + 1),
						Iface:     iface,
						Ingress:   in,
						RemoteASN: remote,
						LocalASN:  locals[(j+f)%len(locals)],
					})
				}
			}
		}
	}
	return rows
}

func insertLegacy(t *testing.T, conn *pgx.Conn, rows []trow) {
	t.Helper()
	// As the importer did: COPY of these columns, id from the sequence.
	src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := rows[i]
		return []any{r.Time, r.Bandwidth, r.Iface, r.Ingress, r.RemoteASN, r.LocalASN}, nil
	})
	if _, err := conn.CopyFrom(context.Background(), pgx.Identifier{"traffic"},
		[]string{"time", "bandwidth", "iface", "ingress", "remote_asn", "local_asn"}, src); err != nil {
		t.Fatal(err)
	}
}

// The four dashboards' SQL, verbatim from seed/COMPAT.md.
const (
	qInterfacesOut = `SELECT time, sum(bandwidth) as "bandwidth", iface || ' OUT' as "metric"
FROM traffic WHERE ingress = false and $__timeFilter(time) GROUP BY time, iface ORDER BY time`
	qInterfacesIn = `SELECT time, sum(bandwidth) as "bandwidth", iface || ' IN' as "metric"
FROM traffic WHERE ingress = true and $__timeFilter(time) GROUP BY time, iface ORDER BY time`

	qTopVar = `SELECT remote_asn FROM (SELECT remote_asn, sum(bandwidth) as bandwidth FROM traffic
  WHERE time > (now() - interval '1 day') GROUP BY remote_asn ORDER BY bandwidth DESC LIMIT 10) as foo;`
	qTopOut = `SELECT time, sum(bandwidth) as "bandwidth", iface || ' OUT' as "metric" FROM traffic
  WHERE ingress = false AND remote_asn = $topasn AND $__timeFilter(time) GROUP BY time, iface ORDER BY time`
	qTopIn = `SELECT time, sum(bandwidth) as "bandwidth", iface || ' IN' as "metric" FROM traffic
  WHERE ingress = true AND remote_asn = $topasn AND $__timeFilter(time) GROUP BY time, iface ORDER BY time`

	// "TOP 10 Downstream-ASNs": the same with local_asn in place of remote_asn.
	qDownVar = `SELECT local_asn FROM (SELECT local_asn, sum(bandwidth) as bandwidth FROM traffic
  WHERE time > (now() - interval '1 day') GROUP BY local_asn ORDER BY bandwidth DESC LIMIT 10) as foo;`
	qDownOut = `SELECT time, sum(bandwidth) as "bandwidth", iface || ' OUT' as "metric" FROM traffic
  WHERE ingress = false AND local_asn = $topasn AND $__timeFilter(time) GROUP BY time, iface ORDER BY time`
	qDownIn = `SELECT time, sum(bandwidth) as "bandwidth", iface || ' IN' as "metric" FROM traffic
  WHERE ingress = true AND local_asn = $topasn AND $__timeFilter(time) GROUP BY time, iface ORDER BY time`

	qViewOut = `SELECT time, sum(bandwidth) as "bandwidth", iface || ' OUT' as "metric" FROM traffic
  WHERE ingress = false AND remote_asn = $asn AND $__timeFilter(time) GROUP BY time, iface ORDER BY time`
	qViewIn = `SELECT time, sum(bandwidth) as "bandwidth", iface || ' IN' as "metric" FROM traffic
  WHERE ingress = true AND remote_asn = $asn AND $__timeFilter(time) GROUP BY time, iface ORDER BY time`
)

// expand does what Grafana does to the dashboards' SQL.
func expand(sql string, from, to time.Time, vars map[string]string) string {
	sql = strings.ReplaceAll(sql, "$__timeFilter(time)", fmt.Sprintf("time BETWEEN '%s' AND '%s'",
		from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano)))
	for k, v := range vars {
		sql = strings.ReplaceAll(sql, "$"+k, v)
	}
	return sql
}

func format(v any) string {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case nil:
		return "NULL"
	}
	return fmt.Sprint(v)
}

func runQuery(t *testing.T, conn *pgx.Conn, sql string) [][]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]string, error) {
		vals, err := r.Values()
		line := make([]string, len(vals))
		for i, v := range vals {
			line[i] = format(v)
		}
		return line, err
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return got
}

// dashboards runs every panel and variable query of the four dashboards
// over [from, to] and returns the results by panel. Panels are ordered by
// time only, so their rows are sorted; variable values keep their order.
func dashboards(t *testing.T, conn *pgx.Conn, from, to time.Time, asn int64) map[string][][]string {
	t.Helper()
	out := map[string][][]string{}
	panel := func(key, sql string, vars map[string]string) {
		rows := runQuery(t, conn, expand(sql, from, to, vars))
		slices.SortFunc(rows, func(a, b []string) int { return slices.Compare(a, b) })
		out[key] = rows
	}
	panel("Interfaces OUT", qInterfacesOut, nil)
	panel("Interfaces IN", qInterfacesIn, nil)
	for _, d := range []struct{ name, v, o, i string }{
		{"TOP 10 ASNs", qTopVar, qTopOut, qTopIn},
		{"TOP 10 Downstream-ASNs", qDownVar, qDownOut, qDownIn},
	} {
		values := runQuery(t, conn, d.v)
		out[d.name+" topasn"] = values
		for _, v := range values {
			vars := map[string]string{"topasn": v[0]}
			panel(d.name+" "+v[0]+" OUT", d.o, vars)
			panel(d.name+" "+v[0]+" IN", d.i, vars)
		}
	}
	vars := map[string]string{"asn": strconv.FormatInt(asn, 10)}
	panel("View an AS OUT", qViewOut, vars)
	panel("View an AS IN", qViewIn, vars)
	return out
}

// wantDashboards computes what dashboards must return for rows: the
// dashboards' SQL written out in Go. Every row is within the last day.
func wantDashboards(rows []trow, from, to time.Time, asn int64) map[string][][]string {
	out := map[string][][]string{}
	panel := func(key string, keep func(trow) bool, suffix string) {
		type k struct {
			t     time.Time
			iface string
		}
		sums := map[k]float32{}
		for _, r := range rows {
			if keep(r) && !r.Time.Before(from) && !r.Time.After(to) {
				sums[k{r.Time, r.Iface}] += r.Bandwidth
			}
		}
		var lines [][]string
		for key, sum := range sums {
			lines = append(lines, []string{format(key.t), format(sum), key.iface + suffix})
		}
		slices.SortFunc(lines, func(a, b []string) int { return slices.Compare(a, b) })
		out[key] = lines
	}
	top := func(asnOf func(trow) int64) []int64 {
		sums := map[int64]float32{}
		for _, r := range rows {
			sums[asnOf(r)] += r.Bandwidth
		}
		asns := make([]int64, 0, len(sums))
		for a := range sums {
			asns = append(asns, a)
		}
		slices.SortFunc(asns, func(a, b int64) int { return cmp.Compare(sums[b], sums[a]) })
		return asns[:min(10, len(asns))]
	}
	panel("Interfaces OUT", func(r trow) bool { return !r.Ingress }, " OUT")
	panel("Interfaces IN", func(r trow) bool { return r.Ingress }, " IN")
	for _, d := range []struct {
		name  string
		asnOf func(trow) int64
	}{
		{"TOP 10 ASNs", func(r trow) int64 { return r.RemoteASN }},
		{"TOP 10 Downstream-ASNs", func(r trow) int64 { return r.LocalASN }},
	} {
		var values [][]string
		for _, a := range top(d.asnOf) {
			v := strconv.FormatInt(a, 10)
			values = append(values, []string{v})
			panel(d.name+" "+v+" OUT", func(r trow) bool { return !r.Ingress && d.asnOf(r) == a }, " OUT")
			panel(d.name+" "+v+" IN", func(r trow) bool { return r.Ingress && d.asnOf(r) == a }, " IN")
		}
		out[d.name+" topasn"] = values
	}
	panel("View an AS OUT", func(r trow) bool { return !r.Ingress && r.RemoteASN == asn }, " OUT")
	panel("View an AS IN", func(r trow) bool { return r.Ingress && r.RemoteASN == asn }, " IN")
	return out
}

type oldColumns struct {
	ID        int64
	Time      time.Time
	Bandwidth float32
	Iface     *string
	Ingress   bool
	RemoteASN *int64
	LocalASN  *int64
}

func readOld(t *testing.T, conn *pgx.Conn) []oldColumns {
	t.Helper()
	rows, err := conn.Query(context.Background(),
		"SELECT id, time, bandwidth, iface, ingress, remote_asn, local_asn FROM traffic ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[oldColumns])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestTakeOverFirstLastflussTable points the sink at a table the first
// Lastfluss filled and runs its four dashboards' SQL before, after the
// take-over, and after new batches.
func TestTakeOverFirstLastflussTable(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDB(t)
	conn := connect(t, dsn)
	now := time.Now()
	from, to := now.Add(-24*time.Hour), now.Add(time.Hour)
	const asn = 174

	createLegacy(t, conn)
	legacy := legacyRows(now.Add(-3 * time.Hour))
	insertLegacy(t, conn, legacy)
	before := dashboards(t, conn, from, to, asn)
	if diff := gocmp.Diff(before, wantDashboards(legacy, from, to, asn)); diff != "" {
		t.Fatalf("dashboards on the first Lastfluss's table (-got +want):\n%s", diff)
	}
	if len(before["Interfaces OUT"]) == 0 || len(before["TOP 10 ASNs topasn"]) != 10 {
		t.Fatalf("test data too thin: %v", before)
	}
	oldBefore := readOld(t, conn)

	s := newSink(t, dsn, sdk.Config{"legacy_interval": time.Minute})

	// Every row kept as it was; the dashboards see the same.
	if diff := gocmp.Diff(readOld(t, conn), oldBefore); diff != "" {
		t.Errorf("old columns after the take-over (-got +want):\n%s", diff)
	}
	if diff := gocmp.Diff(dashboards(t, conn, from, to, asn), before); diff != "" {
		t.Errorf("dashboards after the take-over (-got +want):\n%s", diff)
	}
	// The old rows got bytes from bandwidth × period / 8.
	rows, err := conn.Query(ctx, "SELECT bandwidth, bytes, interval_seconds, packets, other FROM traffic ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	type backfill struct {
		Bandwidth       float32
		Bytes           int64
		IntervalSeconds int32
		Packets         *int64
		Other           bool
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[backfill])
	if err != nil {
		t.Fatal(err)
	}
	want := make([]backfill, len(legacy))
	for i, r := range legacy {
		want[i] = backfill{r.Bandwidth, int64(math.RoundToEven(float64(r.Bandwidth) * 60 / 8)), 60, nil, false}
	}
	if diff := gocmp.Diff(got, want); diff != "" {
		t.Errorf("backfilled columns (-got +want):\n%s", diff)
	}

	// New batches: on the old interfaces' names and a new one, one AS far
	// ahead of the old top 10 and one new in it.
	ifaces := []sdk.Interface{
		{Exporter: "edge1", Name: "Cogent Transit", Role: "transit", IfIndex: 1},
		{Exporter: "edge1", Name: "DECIX IX", Role: "ix", IfIndex: 2},
		{Exporter: "edge2", Name: "Google PNI", Role: "pni", IfIndex: 3},
	}
	var added []trow
	for k := range 2 {
		start := now.Truncate(time.Minute).Add(time.Duration(k-2) * time.Minute)
		b := &sdk.Batch{ID: batchID("fra1", start, k), CollectorID: "fra1", Start: start, Interval: time.Minute, Interfaces: ifaces}
		for i := range ifaces {
			for _, dir := range []sdk.Direction{sdk.In, sdk.Out} {
				for j, remote := range []uint32{174, 64999, 3320} {
					// bytes × 8 / 60 is a whole number of bit/s.
					bytes := uint64(7500 * (100*(3-j) + 10*i + int(dir) + k + 1))
					local := uint32(64500)
					if j == 2 {
						local = 0 // no local_asn configured: AS 0 stays 0
					}
					b.Rows = append(b.Rows, sdk.Row{Interface: uint32(i), Direction: dir, RemoteASN: remote,
						LocalASN: local, IPVersion: 4, Bytes: bytes, Packets: 1, Flows: 1})
					added = append(added, trow{start, float32(bytes * 8 / 60), ifaces[i].Name, dir == sdk.In, int64(remote), int64(local)})
				}
			}
		}
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	after := dashboards(t, conn, from, to, asn)
	if diff := gocmp.Diff(after, wantDashboards(append(slices.Clone(legacy), added...), from, to, asn)); diff != "" {
		t.Errorf("dashboards with new batches (-got +want):\n%s", diff)
	}
	// Old and new rows both show: every old row is still in its panel
	// (except panels of an AS the new traffic pushed out of the TOP 10).
	for key, lines := range before {
		if _, ok := after[key]; !ok && strings.HasPrefix(key, "TOP 10") {
			continue
		}
		if strings.HasSuffix(key, "topasn") {
			continue
		}
		for _, l := range lines {
			if !slices.ContainsFunc(after[key], func(a []string) bool { return slices.Equal(a, l) }) {
				t.Errorf("%s: old row %v gone", key, l)
			}
		}
	}
	if !slices.ContainsFunc(after["TOP 10 ASNs topasn"], func(v []string) bool { return v[0] == "64999" }) {
		t.Errorf("new AS 64999 not in the TOP 10: %v", after["TOP 10 ASNs topasn"])
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic"); got != int64(len(legacy)+len(added)) {
		t.Errorf("%d rows, want %d", got, len(legacy)+len(added))
	}
}

// TestTakeOverWithoutLegacyInterval leaves old rows' bytes NULL: totals of
// bytes then count new rows only, and nothing is guessed.
func TestTakeOverWithoutLegacyInterval(t *testing.T) {
	dsn := pgtest.NewDB(t)
	conn := connect(t, dsn)
	createLegacy(t, conn)
	legacy := legacyRows(time.Now().Add(-time.Hour))
	insertLegacy(t, conn, legacy)
	newSink(t, dsn, nil)
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic WHERE bytes IS NULL AND interval_seconds IS NULL"); got != int64(len(legacy)) {
		t.Errorf("%d old rows left without bytes, want all %d", got, len(legacy))
	}
	// Set later, a restart backfills them.
	newSink(t, dsn, sdk.Config{"legacy_interval": 5 * time.Minute})
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic WHERE interval_seconds = 300 AND bytes = round(bandwidth::float8 * 300 / 8)"); got != int64(len(legacy)) {
		t.Errorf("%d old rows backfilled with a 5m period, want %d", got, len(legacy))
	}
}
