package pgsink

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lastfluss/lastfluss/internal/pgtest"
	"github.com/lastfluss/lastfluss/sdk"
)

// grafanaDir holds the example dashboards.
const grafanaDir = "../../../examples/grafana"

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title   string   `json:"title"`
	Repeat  string   `json:"repeat"`
	Panels  []panel  `json:"panels"` // of a collapsed row
	Targets []target `json:"targets"`
}

type target struct {
	RefID  string `json:"refId"`
	Format string `json:"format"`
	RawSQL string `json:"rawSql"`
}

type variable struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Query   string `json:"query"`
	Current struct {
		Value any `json:"value"`
	} `json:"current"`
}

// macros expands what Grafana's PostgreSQL data source expands, as it
// does (pkg/tsdb/grafana-postgresql-datasource/macros.go): template
// variables first, then the macros.
type macros struct {
	from, to time.Time
	interval time.Duration
	vars     map[string]string // name → formatted value
}

var (
	reTimeFilter = regexp.MustCompile(`\$__timeFilter\(([^)]*)\)`)
	reTimeGroup  = regexp.MustCompile(`\$__timeGroup(Alias)?\(([^,)]+),\s*([^,)]+)\)`)
	reLeftover   = regexp.MustCompile(`\$(__)?[A-Za-z{\[]`)
)

func grafanaDuration(s string) (time.Duration, error) {
	s = strings.Trim(strings.TrimSpace(s), `'"`)
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		return time.Duration(n) * 24 * time.Hour, err
	}
	return time.ParseDuration(s)
}

func (m macros) expand(sql string) (string, error) {
	r := []string{
		"$__interval_ms", strconv.FormatInt(m.interval.Milliseconds(), 10),
		"${__interval_ms}", strconv.FormatInt(m.interval.Milliseconds(), 10),
		"$__interval", m.interval.String(),
		"${__interval}", m.interval.String(),
	}
	// Longer names first, so that $iface does not eat $ifaces.
	names := make([]string, 0, len(m.vars))
	for n := range m.vars {
		names = append(names, n)
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if len(names[j]) > len(names[i]) {
				names[i], names[j] = names[j], names[i]
			}
		}
	}
	for _, n := range names {
		r = append(r, "${"+n+"}", m.vars[n], "[["+n+"]]", m.vars[n], "$"+n, m.vars[n])
	}
	sql = strings.NewReplacer(r...).Replace(sql)
	lit := func(t time.Time) string { return "'" + t.UTC().Format(time.RFC3339Nano) + "'" }
	sql = reTimeFilter.ReplaceAllString(sql, "$1 BETWEEN "+lit(m.from)+" AND "+lit(m.to))
	sql = strings.ReplaceAll(sql, "$__timeFrom()", lit(m.from))
	sql = strings.ReplaceAll(sql, "$__timeTo()", lit(m.to))
	var err error
	sql = reTimeGroup.ReplaceAllStringFunc(sql, func(s string) string {
		g := reTimeGroup.FindStringSubmatch(s)
		d, perr := grafanaDuration(g[3])
		if perr != nil || d <= 0 {
			err = fmt.Errorf("%s: bad interval %q", s, g[3])
			return s
		}
		secs := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
		out := "floor(extract(epoch from " + strings.TrimSpace(g[2]) + ")/" + secs + ")*" + secs
		if g[1] == "Alias" {
			out += ` AS "time"`
		}
		return out
	})
	if err != nil {
		return "", err
	}
	if l := reLeftover.FindString(sql); l != "" {
		return "", fmt.Errorf("unexpanded %q in:\n%s", l, sql)
	}
	return sql, nil
}

// grafanaData writes three hours of 1-minute batches through the sink:
// four interfaces of two exporters, several remote ASNs with names.
func grafanaData(t *testing.T, s *Sink, now time.Time) int64 {
	t.Helper()
	asns := []uint32{174, 3320, 15169, 13335, 64496, 0}
	var total int64
	for i := range 180 {
		start := now.Truncate(time.Minute).Add(-time.Duration(180-i) * time.Minute)
		b := &sdk.Batch{
			ID: batchID("fra1", start, i), CollectorID: "fra1", Start: start, Interval: time.Minute,
			Interfaces: testInterfaces,
			ASNames: map[uint32]sdk.ASInfo{
				174: {Name: "COGENT-174", Country: "US"}, 3320: {Name: "DTAG", Country: "DE"},
				15169: {Name: "GOOGLE", Country: "US"}, 13335: {Name: "CLOUDFLARENET", Country: "US"},
			},
		}
		for j := range 40 {
			r := sdk.Row{
				Interface: uint32(j % len(testInterfaces)), Direction: sdk.Direction(j / len(testInterfaces) % 2),
				RemoteASN: asns[(i+j)%len(asns)], LocalASN: 64500, IPVersion: 4 + 2*uint8(j%2),
				Bytes: uint64(1_000_000 * (1 + (i*7+j*13)%50)), Packets: 1000, Flows: 10, Other: j == 39,
			}
			total += int64(r.Bytes)
			b.Rows = append(b.Rows, r)
		}
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	return total
}

// TestGrafanaDashboards runs every query of every dashboard in
// examples/grafana, macros expanded as Grafana does, against a database the
// sink wrote: each must succeed and return rows; time series have a time
// column and a metric.
func TestGrafanaDashboards(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(grafanaDir, "*.json"))
	if err != nil || len(files) < 2 {
		t.Fatalf("dashboards in %s: %v %v", grafanaDir, files, err)
	}
	dsn := pgtest.NewDB(t)
	s := newSink(t, dsn, nil)
	now := time.Now().UTC()
	grafanaData(t, s, now)
	conn := connect(t, dsn)
	ctx := context.Background()

	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.Contains(string(raw), `"${DS}"`) || !strings.Contains(string(raw), `"__inputs"`) {
			t.Errorf("%s: the data source is not the ${DS} input", f)
		}
		for _, interval := range []time.Duration{15 * time.Second, time.Minute, 5 * time.Minute} {
			m := macros{from: now.Add(-3 * time.Hour), to: now, interval: interval, vars: map[string]string{}}
			// Variables: query ones from the database (all values, as
			// "All" would send them), custom ones at their current value.
			for _, v := range d.Templating.List {
				switch v.Type {
				case "query":
					q, err := m.expand(v.Query)
					if err != nil {
						t.Fatalf("%s: variable %s: %v", f, v.Name, err)
					}
					rows, err := conn.Query(ctx, q)
					if err != nil {
						t.Fatalf("%s: variable %s: %s: %v", f, v.Name, q, err)
					}
					vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
					if err != nil || len(vals) == 0 {
						t.Fatalf("%s: variable %s: %d values, %v", f, v.Name, len(vals), err)
					}
					for i, s := range vals {
						vals[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
					}
					m.vars[v.Name] = strings.Join(vals, ",")
				case "custom", "constant", "textbox":
					m.vars[v.Name] = fmt.Sprint(v.Current.Value)
				default:
					t.Fatalf("%s: variable %s of type %s not handled", f, v.Name, v.Type)
				}
			}
			var run func(p panel)
			run = func(p panel) {
				for _, sub := range p.Panels {
					run(sub)
				}
				for _, tg := range p.Targets {
					name := fmt.Sprintf("%s / %s / %s at %v", filepath.Base(f), p.Title, tg.RefID, interval)
					if tg.RawSQL == "" {
						t.Errorf("%s: no rawSql", name)
						continue
					}
					sets := []macros{m}
					if p.Repeat != "" {
						// A repeated panel gets one value per copy.
						one := macros{m.from, m.to, m.interval, map[string]string{}}
						for k, v := range m.vars {
							one.vars[k] = v
						}
						one.vars[p.Repeat] = strings.Split(m.vars[p.Repeat], ",")[0]
						sets = append(sets, one)
					}
					for _, mm := range sets {
						q, err := mm.expand(tg.RawSQL)
						if err != nil {
							t.Errorf("%s: %v", name, err)
							continue
						}
						checkQuery(t, conn, name, tg.Format, q)
					}
				}
			}
			for _, p := range d.Panels {
				run(p)
			}
		}
	}
}

func checkQuery(t *testing.T, conn *pgx.Conn, name, format, q string) {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Errorf("%s: %v\n%s", name, err, q)
		return
	}
	defer rows.Close()
	var cols []string
	for _, fd := range rows.FieldDescriptions() {
		cols = append(cols, fd.Name)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		t.Errorf("%s: %v\n%s", name, err, q)
		return
	}
	if n == 0 {
		t.Errorf("%s: no rows\n%s", name, q)
	}
	if format == "time_series" && (len(cols) < 3 || cols[0] != "time" || cols[1] != "metric") {
		t.Errorf("%s: time series columns %v, want time, metric, value", name, cols)
	}
}

// TestGrafanaTotals checks the numbers of two panels against the table:
// the totals per role add up to every byte, and the per-interface graph
// (bit/s × seconds) carries every byte at every interval.
func TestGrafanaTotals(t *testing.T) {
	dsn := pgtest.NewDB(t)
	s := newSink(t, dsn, nil)
	now := time.Now().UTC()
	total := grafanaData(t, s, now)
	conn := connect(t, dsn)
	var d dashboard
	raw, err := os.ReadFile(filepath.Join(grafanaDir, "lastfluss-overview.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	sqlOf := func(title string) string {
		for _, p := range d.Panels {
			if p.Title == title {
				return p.Targets[0].RawSQL
			}
		}
		t.Fatalf("no panel %q", title)
		return ""
	}
	vars := map[string]string{"iface": "'transit-cogent','ix-decix','pni-google','no-role'", "topn": "10"}
	m := macros{from: now.Add(-4 * time.Hour), to: now, interval: time.Minute, vars: vars}

	q, err := m.expand(`SELECT sum("In (bytes)" + "Out (bytes)")::bigint FROM (` + sqlOf("Totals per role") + `) x`)
	if err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, conn, q); got != total {
		t.Errorf("totals per role: %d bytes, want %d", got, total)
	}
	for _, iv := range []time.Duration{time.Minute, 10 * time.Minute} {
		m.interval = iv
		q, err := m.expand(`SELECT round(sum(abs(bandwidth) * ` + strconv.Itoa(int(iv/time.Second)) + ` / 8))::bigint FROM (` + sqlOf("Traffic per role") + `) x`)
		if err != nil {
			t.Fatal(err)
		}
		if got := queryInt(t, conn, q); got != total {
			t.Errorf("traffic per role at %v: %d bytes, want %d", iv, got, total)
		}
	}
}
