package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/lastfluss/lastfluss/core/flowgen"
	"github.com/lastfluss/lastfluss/internal/pgtest"
)

// TestNamesReachEverySink: enrich-asname between the core and two sinks,
// the JSON-lines file and PostgreSQL. Rows of known ASNs carry their names,
// the asn table has them, rows of unknown ASNs arrive unchanged, and the
// totals are exact in both.
func TestNamesReachEverySink(t *testing.T) {
	asnames, err := filepath.Abs("../../../examples/asnames/asnames.txt")
	if err != nil {
		t.Fatal(err)
	}
	names := readNames(t, asnames)
	dsn := pgtest.NewDB(t)

	s := newSetup(t, "1s", "", "-exporters", "4", "-malformed", "0")
	extra := fmt.Sprintf(`
enrich "asnames" {
  plugin = "enrich-asname"
  config {
    file = %q
  }
}
sink "db" {
  plugin = "sink-postgres"
  config {
    dsn = %q
  }
}
`, asnames, dsn)
	f, err := os.OpenFile(s.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(extra); err != nil {
		t.Fatal(err)
	}
	f.Close()

	c := s.start(t)
	truth := s.send(t, "-flows", "30000", "-rate", "30000", "-seed", "21")
	c.waitFlows(t, truth)
	c.stop(t)

	compareTotals(t, s.jsonl, truth)

	// Names in the JSON lines.
	named, unnamed := 0, 0
	file, err := os.Open(s.jsonl)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var r struct {
			RemoteASN  uint32  `json:"remote_asn"`
			RemoteName *string `json:"remote_as_name"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		want, known := names[r.RemoteASN]
		switch {
		case known && (r.RemoteName == nil || *r.RemoteName != want):
			t.Errorf("AS %d: remote_as_name %v, want %q", r.RemoteASN, r.RemoteName, want)
		case !known && r.RemoteName != nil:
			t.Errorf("AS %d is in no source but got the name %q", r.RemoteASN, *r.RemoteName)
		case known:
			named++
		default:
			unnamed++
		}
	}
	if named == 0 || unnamed == 0 {
		t.Errorf("%d rows with names, %d without: the scenario should have both", named, unnamed)
	}

	// The same totals and the names in PostgreSQL.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT exporter, iface, CASE WHEN ingress THEN 'in' ELSE 'out' END,
		remote_asn, local_asn, ip_version, sum(bytes), sum(packets), sum(flows)
		FROM traffic GROUP BY 1, 2, 3, 4, 5, 6`)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[rowKey]flowgen.Counters)
	for rows.Next() {
		var k rowKey
		var remote, local int64
		var ipv int16
		var c flowgen.Counters
		var b, p, fl int64
		if err := rows.Scan(&k.Exporter, &k.Interface, &k.Direction, &remote, &local, &ipv, &b, &p, &fl); err != nil {
			t.Fatal(err)
		}
		k.Remote, k.Local, k.IPVersion = uint32(remote), uint32(local), uint8(ipv)
		c.Bytes, c.Packets, c.Flows = uint64(b), uint64(p), uint64(fl)
		got[k] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want(truth)); diff != "" {
		t.Errorf("totals in PostgreSQL (-got +want):\n%s", diff)
	}
	var inTable int
	for asn, name := range names {
		var got string
		err := conn.QueryRow(ctx, `SELECT name FROM asn WHERE asn = $1`, int64(asn)).Scan(&got)
		if err == pgx.ErrNoRows {
			continue // not in the traffic
		}
		if err != nil {
			t.Fatal(err)
		}
		if got != name {
			t.Errorf("asn table: AS %d is %q, want %q", asn, got, name)
		}
		inTable++
	}
	if inTable == 0 {
		t.Error("the asn table holds none of the known ASNs")
	}
}

// readNames reads the handles of a RIPE-style asnames file, for the
// well-formed "ASN HANDLE ..." lines.
func readNames(t *testing.T, path string) map[uint32]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[uint32]string)
	for _, line := range strings.Split(string(data), "\n") {
		var asn uint32
		var handle string
		if _, err := fmt.Sscanf(line, "%d %s", &asn, &handle); err != nil {
			continue
		}
		// AS 0 is no AS: the core never asks about it.
		if _, dup := names[asn]; !dup && asn != 0 {
			names[asn] = strings.TrimSuffix(handle, ",")
		}
	}
	return names
}
