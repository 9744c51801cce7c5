package pgsink

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/lastfluss/lastfluss/internal/pgtest"
	"github.com/lastfluss/lastfluss/sdk"
)

// dbRow is a traffic row as read back.
type dbRow struct {
	Time            time.Time
	Bandwidth       float32
	Iface           string
	Ingress         bool
	RemoteASN       *int64
	LocalASN        *int64
	Exporter        string
	Role            *string
	IPVersion       *int16
	Bytes           int64
	Packets         int64
	Flows           int64
	IntervalSeconds int32
	Collector       *string
	Other           bool
}

func readRows(t *testing.T, conn *pgx.Conn, table string) []dbRow {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT time, bandwidth, iface, ingress, remote_asn, local_asn,
  exporter, role, ip_version, bytes, packets, flows, interval_seconds, collector, other
FROM `+table+` ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dbRow])
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i].Time = got[i].Time.UTC()
	}
	return got
}

func ptr[T any](v T) *T { return &v }

// bw is bandwidth as the sink computes it: bytes × 8 / seconds, as REAL.
func bw(bytes uint64, secs float64) float32 { return float32(float64(bytes) * 8 / secs) }

func itoa(i int) string { return strconv.Itoa(i) }

func TestEmptyDatabase(t *testing.T) {
	dsn := pgtest.NewDB(t)
	s := newSink(t, dsn, nil)
	conn := connect(t, dsn)

	// The table has the first Lastfluss's columns, then the new ones.
	rows, err := conn.Query(context.Background(), `SELECT column_name || ' ' || data_type || ' ' || is_nullable
FROM information_schema.columns WHERE table_name = 'traffic' ORDER BY ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"id bigint NO", "time timestamp with time zone NO", "bandwidth real NO", "iface text YES",
		"ingress boolean NO", "remote_asn bigint YES", "local_asn bigint YES",
		"exporter text YES", "role text YES", "ip_version smallint YES", "bytes bigint YES",
		"packets bigint YES", "flows bigint YES", "interval_seconds integer YES", "collector text YES",
		"other boolean NO",
	}
	if diff := cmp.Diff(cols, want); diff != "" {
		t.Errorf("traffic columns (-got +want):\n%s", diff)
	}
	var versions []int32
	rows, err = conn.Query(context.Background(), "SELECT version FROM lastfluss_schema_migrations WHERE tbl = 'traffic' ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	if versions, err = pgx.CollectRows(rows, pgx.RowTo[int32]); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(versions, []int32{1, 2}); diff != "" {
		t.Errorf("migrations (-got +want):\n%s", diff)
	}
	for _, idx := range []string{"traffic_time_idx", "traffic_iface_time_idx", "traffic_legacy_idx"} {
		if queryInt(t, conn, "SELECT count(*) FROM pg_indexes WHERE tablename = 'traffic' AND indexname = $1", idx) != 1 {
			t.Errorf("index %s missing", idx)
		}
	}

	if err := s.Write(context.Background(), bigBatch(batchID("fra1", minute, 1), minute, 10)); err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic"); got != 10 {
		t.Errorf("%d rows stored, want 10", got)
	}

	// Writes run under the configured statement_timeout.
	for _, c := range []struct{ setting, want string }{
		{"statement_timeout", "30s"}, {"application_name", "lastfluss-sink-postgres"},
	} {
		var got string
		if err := s.Pool().QueryRow(context.Background(), "SELECT current_setting($1)", c.setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s = %q on the sink's connections, want %q", c.setting, got, c.want)
		}
	}

	// A restart finds everything in place and changes nothing.
	newSink(t, dsn, nil)
	if got := queryInt(t, conn, "SELECT count(*) FROM lastfluss_schema_migrations"); got != int64(len(Migrations)) {
		t.Errorf("%d migration rows after a restart, want %d", got, len(Migrations))
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic"); got != 10 {
		t.Errorf("%d rows after a restart, want 10", got)
	}
}

// TestRows checks every column of every row: exact values, bandwidth =
// bytes × 8 / interval, NULL ASNs on other rows, the interval start as time.
func TestRows(t *testing.T) {
	dsn := pgtest.NewDB(t)
	s := newSink(t, dsn, sdk.Config{"table": "flows"})
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	b := &sdk.Batch{
		ID:          "fra1/2026-12-04T10:00:00Z/x/1",
		CollectorID: "fra1",
		Start:       start,
		Interval:    5 * time.Minute,
		Partial:     true,
		Interfaces:  testInterfaces,
		Rows: []sdk.Row{
			{Interface: 0, Direction: sdk.In, RemoteASN: 174, LocalASN: 64500, IPVersion: 4, Bytes: 37_500_000_000, Packets: 30_000_000, Flows: 1200},
			{Interface: 0, Direction: sdk.Out, RemoteASN: 174, LocalASN: 64500, IPVersion: 6, Bytes: 300, Packets: 3, Flows: 1},
			{Interface: 1, Direction: sdk.In, RemoteASN: 0, LocalASN: 0, IPVersion: 4, Bytes: 1, Packets: 1, Flows: 1},
			{Interface: 2, Direction: sdk.Out, RemoteASN: 4_200_000_000, LocalASN: 64500, IPVersion: 6, Bytes: 9_000_000_000_000_000_000, Packets: 1, Flows: 1},
			{Interface: 3, Direction: sdk.In, Other: true, IPVersion: 4, Bytes: 7777, Packets: 77, Flows: 7},
		},
	}
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	want := []dbRow{
		{start, 1e9, "transit-cogent", true, ptr[int64](174), ptr[int64](64500), "edge1-fra", ptr("transit"), ptr[int16](4), 37_500_000_000, 30_000_000, 1200, 300, ptr("fra1"), false},
		{start, 8, "transit-cogent", false, ptr[int64](174), ptr[int64](64500), "edge1-fra", ptr("transit"), ptr[int16](6), 300, 3, 1, 300, ptr("fra1"), false},
		{start, bw(1, 300), "ix-decix", true, ptr[int64](0), ptr[int64](0), "edge1-fra", ptr("ix"), ptr[int16](4), 1, 1, 1, 300, ptr("fra1"), false},
		{start, bw(9_000_000_000_000_000_000, 300), "pni-google", false, ptr[int64](4_200_000_000), ptr[int64](64500), "edge2-fra", ptr("pni"), ptr[int16](6), 9_000_000_000_000_000_000, 1, 1, 300, ptr("fra1"), false},
		{start, bw(7777, 300), "no-role", true, nil, nil, "edge2-fra", nil, ptr[int16](4), 7777, 77, 7, 300, ptr("fra1"), true},
	}
	conn := connect(t, dsn)
	if diff := cmp.Diff(readRows(t, conn, "flows"), want); diff != "" {
		t.Errorf("rows (-got +want):\n%s", diff)
	}
	if got := queryInt(t, conn, "SELECT rows FROM lastfluss_batches WHERE tbl = 'flows' AND batch_id = $1", b.ID); got != 5 {
		t.Errorf("ledger rows = %d, want 5", got)
	}
}

func TestBadRowsStoreNothing(t *testing.T) {
	dsn := pgtest.NewDB(t)
	s := newSink(t, dsn, nil)
	conn := connect(t, dsn)
	for _, tc := range []struct {
		name string
		edit func(b *sdk.Batch)
		want string
	}{
		{"interface out of range", func(b *sdk.Batch) { b.Rows[500].Interface = 99 }, "interface 99"},
		{"bytes beyond bigint", func(b *sdk.Batch) { b.Rows[700].Bytes = 1 << 63 }, "beyond BIGINT"},
		{"interval not whole seconds", func(b *sdk.Batch) { b.Interval = 1500 * time.Millisecond }, "whole seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bigBatch("bad/"+tc.name, minute, 1000)
			tc.edit(b)
			err := s.Write(context.Background(), b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write = %v, want an error with %q", err, tc.want)
			}
			if n := queryInt(t, conn, "SELECT count(*) FROM traffic"); n != 0 {
				t.Errorf("%d rows stored from a failed batch", n)
			}
			if n := queryInt(t, conn, "SELECT count(*) FROM lastfluss_batches"); n != 0 {
				t.Errorf("%d ledger rows from a failed batch", n)
			}
		})
	}
}

func TestSameBatchTwiceStoredOnce(t *testing.T) {
	dsn := pgtest.NewDB(t)
	s := newSink(t, dsn, nil)
	conn := connect(t, dsn)
	b := bigBatch(batchID("fra1", minute, 1), minute, 1000)
	for i := range 3 {
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic"); got != 1000 {
		t.Errorf("%d rows after three deliveries, want 1000", got)
	}
	if got, want := queryInt(t, conn, "SELECT sum(bytes) FROM traffic"), bigBatchBytes(1000); got != want {
		t.Errorf("sum(bytes) = %d, want %d", got, want)
	}

	// Concurrent deliveries (two sinks, as after a restart overlapping a
	// slow write) store it once too.
	b2 := bigBatch(batchID("fra1", minute.Add(time.Minute), 2), minute.Add(time.Minute), 1000)
	other := newSink(t, dsn, nil)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		sink := s
		if i%2 == 1 {
			sink = other
		}
		wg.Go(func() { errs[i] = sink.Write(context.Background(), b2) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent delivery %d: %v", i, err)
		}
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic WHERE time = $1", b2.Start); got != 1000 {
		t.Errorf("%d rows after concurrent deliveries, want 1000", got)
	}

	// The same id for another table is another batch.
	third := newSink(t, dsn, sdk.Config{"table": "traffic2"})
	if err := third.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic2"); got != 1000 {
		t.Errorf("traffic2 has %d rows, want 1000", got)
	}
}

// parkCopy waits until a COPY parked by installPark's trigger waits on the
// advisory lock, and returns its backend's pid and the rows it had copied.
func parkCopy(t *testing.T, conn *pgx.Conn, done <-chan error) (pid int32, copied int64) {
	t.Helper()
	ctx := context.Background()
	for pid == 0 {
		select {
		case err := <-done:
			t.Fatalf("Write returned before it was parked: %v", err)
		default:
		}
		err := conn.QueryRow(ctx, `SELECT a.pid, p.tuples_processed
FROM pg_stat_activity a JOIN pg_stat_progress_copy p USING (pid)
WHERE a.datname = current_database() AND a.wait_event = 'advisory'`).Scan(&pid, &copied)
		if err != nil && err != pgx.ErrNoRows {
			t.Fatal(err)
		}
		if pid == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return pid, copied
}

// installPark makes COPY into traffic wait on advisory lock 4242, taken
// here on conn, when it reaches the row with bytes = 1000+sentinel.
func installPark(t *testing.T, conn *pgx.Conn, sentinel int) {
	t.Helper()
	exec(t, conn, `CREATE FUNCTION park() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.bytes = `+itoa(1000+sentinel)+` THEN PERFORM pg_advisory_lock(4242); END IF;
  RETURN NEW;
END $$`)
	exec(t, conn, "CREATE TRIGGER park BEFORE INSERT ON traffic FOR EACH ROW EXECUTE FUNCTION park()")
	exec(t, conn, "SELECT pg_advisory_lock(4242)")
}

// TestCancelledMidBatch cancels the Write's context (the core's deadline)
// in the middle of its COPY: an error, and nothing stored.
func TestCancelledMidBatch(t *testing.T) {
	dsn := pgtest.NewDB(t)
	s := newSink(t, dsn, nil)
	conn := connect(t, dsn)
	const n, sentinel = 50_000, 25_000
	b := bigBatch(batchID("fra1", minute, 1), minute, n)
	installPark(t, conn, sentinel)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Write(ctx, b) }()
	parkCopy(t, conn, done)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled Write succeeded")
	}
	exec(t, conn, "SELECT pg_advisory_unlock(4242)")
	exec(t, conn, "DROP TRIGGER park ON traffic")
	// The server may finish the rollback a moment after the client gave up.
	for queryInt(t, conn, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()") > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic"); got != 0 {
		t.Errorf("%d rows of the cancelled batch stored", got)
	}
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic"); got != n {
		t.Errorf("%d rows after the retry, want %d", got, n)
	}
}

// TestConnectionKilledMidBatch ends the sink's server process while its
// COPY is half done: the batch fails, nothing of it is stored, and a retry
// stores it exactly once.
func TestConnectionKilledMidBatch(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDB(t)
	s := newSink(t, dsn, nil)
	conn := connect(t, dsn)
	const n, sentinel = 200_000, 100_000
	b := bigBatch(batchID("fra1", minute, 1), minute, n)

	// A row trigger parks the COPY at row `sentinel` on an advisory lock
	// this test holds: the kill lands in the middle, deterministically.
	installPark(t, conn, sentinel)
	done := make(chan error, 1)
	go func() { done <- s.Write(ctx, b) }()
	pid, copied := parkCopy(t, conn, done)
	if copied == 0 || copied >= n {
		t.Errorf("parked after %d rows, want in the middle of %d", copied, n)
	}
	exec(t, conn, "SELECT pg_terminate_backend($1)", pid)
	err := <-done
	if err == nil {
		t.Fatal("Write succeeded on a killed connection")
	}
	t.Logf("Write after the kill: %v", err)

	exec(t, conn, "SELECT pg_advisory_unlock(4242)")
	exec(t, conn, "DROP TRIGGER park ON traffic")
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic"); got != 0 {
		t.Errorf("%d rows of the failed batch stored, want 0", got)
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM lastfluss_batches"); got != 0 {
		t.Errorf("failed batch is in the ledger")
	}

	// The core retries: stored exactly once, also when delivered again.
	for range 2 {
		if err := s.Write(ctx, b); err != nil {
			t.Fatalf("retry: %v", err)
		}
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic"); got != n {
		t.Errorf("%d rows after the retry, want %d", got, n)
	}
	if got, want := queryInt(t, conn, "SELECT sum(bytes) FROM traffic"), bigBatchBytes(n); got != want {
		t.Errorf("sum(bytes) = %d, want %d", got, want)
	}
}

// TestAllConnectionsLost kills every connection of the pool between
// batches: the next write must not fail on a dead connection forever.
func TestAllConnectionsLost(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDB(t)
	s := newSink(t, dsn, nil)
	if err := s.Write(ctx, bigBatch(batchID("fra1", minute, 1), minute, 10)); err != nil {
		t.Fatal(err)
	}
	if pgtest.KillConnections(t, dsn) == 0 {
		t.Fatal("no connection to kill")
	}
	b := bigBatch(batchID("fra1", minute.Add(time.Minute), 2), minute.Add(time.Minute), 10)
	// The first attempt may meet a dead connection; the queue's retry must
	// then succeed.
	if err := s.Write(ctx, b); err != nil {
		t.Logf("first write after the kill: %v", err)
		if err := s.Write(ctx, b); err != nil {
			t.Fatalf("retry: %v", err)
		}
	}
	conn := connect(t, dsn)
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic"); got != 20 {
		t.Errorf("%d rows, want 20", got)
	}
}

func TestExactTotals(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDB(t)
	s := newSink(t, dsn, nil)
	var wantBytes, wantRows int64
	for i := range 20 {
		start := minute.Add(time.Duration(i) * time.Minute)
		n := 1 + i*517
		if err := s.Write(ctx, bigBatch(batchID("fra1", start, i), start, n)); err != nil {
			t.Fatal(err)
		}
		wantBytes += bigBatchBytes(n)
		wantRows += int64(n)
	}
	conn := connect(t, dsn)
	var gotRows, gotBytes, gotPackets, gotFlows int64
	if err := conn.QueryRow(ctx, "SELECT count(*), sum(bytes), sum(packets), sum(flows) FROM traffic").
		Scan(&gotRows, &gotBytes, &gotPackets, &gotFlows); err != nil {
		t.Fatal(err)
	}
	var wantPackets, wantFlows int64
	for i := range 20 {
		for _, r := range bigBatch("", minute, 1+i*517).Rows {
			wantPackets += int64(r.Packets)
			wantFlows += int64(r.Flows)
		}
	}
	got := []int64{gotRows, gotBytes, gotPackets, gotFlows}
	want := []int64{wantRows, wantBytes, wantPackets, wantFlows}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("rows, bytes, packets, flows (-got +want):\n%s", diff)
	}
	// Per interface and direction, as the dashboards add them up.
	rows, err := conn.Query(ctx, "SELECT iface, ingress, sum(bytes) FROM traffic GROUP BY 1, 2")
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		Iface   string
		Ingress bool
	}
	gotBy := map[key]int64{}
	var k key
	var v int64
	if _, err := pgx.ForEachRow(rows, []any{&k.Iface, &k.Ingress, &v}, func() error { gotBy[k] = v; return nil }); err != nil {
		t.Fatal(err)
	}
	wantBy := map[key]int64{}
	for i := range 20 {
		for _, r := range bigBatch("", minute, 1+i*517).Rows {
			wantBy[key{testInterfaces[r.Interface].Name, r.Direction == sdk.In}] += int64(r.Bytes)
		}
	}
	if diff := cmp.Diff(gotBy, wantBy); diff != "" {
		t.Errorf("bytes per interface and direction (-got +want):\n%s", diff)
	}
}

func TestASNames(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDB(t)
	s := newSink(t, dsn, nil)
	conn := connect(t, dsn)
	type asRow struct {
		ASN         int64
		Name        *string
		Description *string
		Country     *string
	}
	read := func() []asRow {
		t.Helper()
		rows, err := conn.Query(ctx, "SELECT asn, name, description, country FROM asn ORDER BY asn")
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[asRow])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	updatedAt := func(asn int64) time.Time {
		t.Helper()
		var ts time.Time
		if err := conn.QueryRow(ctx, "SELECT updated_at FROM asn WHERE asn = $1", asn).Scan(&ts); err != nil {
			t.Fatal(err)
		}
		return ts
	}

	b := bigBatch(batchID("fra1", minute, 1), minute, 10)
	b.ASNames = map[uint32]sdk.ASInfo{
		174:           {Name: "COGENT-174", Description: "Cogent Communications", Country: "US"},
		3320:          {Name: "DTAG", Country: "DE"},
		4_200_000_000: {Name: "PRIVATE"},
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	want := []asRow{
		{174, ptr("COGENT-174"), ptr("Cogent Communications"), ptr("US")},
		{3320, ptr("DTAG"), nil, ptr("DE")},
		{4_200_000_000, ptr("PRIVATE"), nil, nil},
	}
	if diff := cmp.Diff(read(), want); diff != "" {
		t.Errorf("asn after the first batch (-got +want):\n%s", diff)
	}
	cogentAt := updatedAt(174)

	// A later batch renames one AS, repeats another, adds one; ASNs it does
	// not mention are kept.
	b2 := bigBatch(batchID("fra1", minute.Add(time.Minute), 2), minute.Add(time.Minute), 10)
	b2.ASNames = map[uint32]sdk.ASInfo{
		174:   {Name: "COGENT-174", Description: "Cogent Communications", Country: "US"},
		3320:  {Name: "DTAG", Description: "Deutsche Telekom AG", Country: "DE"},
		15169: {Name: "GOOGLE", Country: "US"},
	}
	if err := s.Write(ctx, b2); err != nil {
		t.Fatal(err)
	}
	want = []asRow{
		{174, ptr("COGENT-174"), ptr("Cogent Communications"), ptr("US")},
		{3320, ptr("DTAG"), ptr("Deutsche Telekom AG"), ptr("DE")},
		{15169, ptr("GOOGLE"), nil, ptr("US")},
		{4_200_000_000, ptr("PRIVATE"), nil, nil},
	}
	if diff := cmp.Diff(read(), want); diff != "" {
		t.Errorf("asn after the second batch (-got +want):\n%s", diff)
	}
	if !updatedAt(174).Equal(cogentAt) {
		t.Errorf("unchanged AS 174 rewritten: updated_at %v, was %v", updatedAt(174), cogentAt)
	}

	// A batch without names and a replayed batch leave the table alone.
	b3 := bigBatch(batchID("fra1", minute.Add(2*time.Minute), 3), minute.Add(2*time.Minute), 10)
	b3.ASNames = nil
	b.ASNames = map[uint32]sdk.ASInfo{174: {Name: "SHOULD-NOT-BE-STORED"}}
	for _, bb := range []*sdk.Batch{b3, b} {
		if err := s.Write(ctx, bb); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(read(), want); diff != "" {
		t.Errorf("asn after a batch without names and a replay (-got +want):\n%s", diff)
	}
}

func TestConcurrentMigrations(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDB(t)
	conn := connect(t, dsn)
	// A first-Lastfluss table with rows, taken over by several collectors
	// starting at once.
	createLegacy(t, conn)
	legacy := legacyRows(time.Now().Add(-2 * time.Hour))
	insertLegacy(t, conn, legacy)

	const n = 6
	sinks := make([]*Sink, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range sinks {
		sinks[i] = &Sink{Logger: quiet}
		t.Cleanup(sinks[i].Close)
		wg.Go(func() {
			errs[i] = sinks[i].Configure(ctx, sdk.Config{"dsn": dsn, "legacy_interval": time.Minute})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("sink %d: %v", i, err)
		}
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM lastfluss_schema_migrations"); got != int64(len(Migrations)) {
		t.Errorf("%d migration rows, want %d", got, len(Migrations))
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic"); got != int64(len(legacy)) {
		t.Errorf("%d rows after the take-over, want %d", got, len(legacy))
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic WHERE bytes IS NULL"); got != 0 {
		t.Errorf("%d rows without bytes", got)
	}
	// All of them write.
	for i, s := range sinks {
		start := minute.Add(time.Duration(i) * time.Minute)
		if err := s.Write(ctx, bigBatch(batchID("c", start, i), start, 100)); err != nil {
			t.Errorf("sink %d write: %v", i, err)
		}
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM traffic WHERE collector = 'fra1'"); got != n*100 {
		t.Errorf("%d new rows, want %d", got, n*100)
	}
}

func TestConfigureErrorsHideThePassword(t *testing.T) {
	// A port nothing listens on: Configure succeeds (the core queues), the
	// write fails, and neither the error nor the logs show the password.
	dsn := "postgres://lastfluss:s3cret-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=5"
	var logs strings.Builder
	s := &Sink{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	t.Cleanup(s.Close)
	if err := s.Configure(context.Background(), sdk.Config{"dsn": dsn}); err != nil {
		t.Fatalf("Configure with the database down: %v", err)
	}
	err := s.Write(context.Background(), bigBatch("x", minute, 1))
	if err == nil {
		t.Fatal("Write succeeded without a server")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("error shows the password: %v", err)
	}
	if !strings.Contains(logs.String(), "database not ready") || strings.Contains(logs.String(), "s3cret-pw") {
		t.Errorf("logs lack the warning or show the password:\n%s", logs.String())
	}
	// Settings errors still fail Configure.
	if err := s.Configure(context.Background(), sdk.Config{"dsn": dsn, "pool_size": 0.0}); err == nil {
		t.Error("Configure accepted pool_size 0")
	}
	if (&Sink{Logger: quiet}).Write(context.Background(), bigBatch("x", minute, 1)) == nil {
		t.Errorf("Write succeeded on an unconfigured sink")
	}
}

// TestDatabaseComesLater starts the sink on a database that does not exist
// yet: Configure succeeds, writes fail and store nothing, and once the
// database is created the next write migrates it and stores the batch.
func TestDatabaseComesLater(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(pgtest.NewDB(t))
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.Database + "_later"
	u := "postgres://postgres@" + cfg.Host + ":" + strconv.Itoa(int(cfg.Port)) + "/" + name + "?sslmode=disable"
	admin := pgtest.Admin(t)
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})

	s := &Sink{Logger: quiet}
	t.Cleanup(s.Close)
	if err := s.Configure(ctx, sdk.Config{"dsn": u}); err != nil {
		t.Fatalf("Configure before the database exists: %v", err)
	}
	b := bigBatch(batchID("fra1", minute, 1), minute, 50)
	for range 2 {
		if err := s.Write(ctx, b); err == nil || !strings.Contains(err.Error(), name) {
			t.Fatalf("Write before the database exists = %v, want an error naming it", err)
		}
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatalf("Write once the database exists: %v", err)
	}
	conn := connect(t, u)
	if got := queryInt(t, conn, "SELECT sum(bytes) FROM traffic"); got != bigBatchBytes(50) {
		t.Errorf("stored %d bytes, want %d", got, bigBatchBytes(50))
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM lastfluss_schema_migrations"); got != int64(len(Migrations)) {
		t.Errorf("%d migrations applied, want %d", got, len(Migrations))
	}

	// The database is dropped and made again: the sink migrates it anew.
	s.Pool().Reset()
	if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	b2 := bigBatch(batchID("fra1", minute.Add(time.Minute), 2), minute.Add(time.Minute), 10)
	if err := s.Write(ctx, b2); err == nil {
		t.Fatal("first write into the recreated database succeeded without tables")
	}
	if err := s.Write(ctx, b2); err != nil {
		t.Fatalf("second write into the recreated database: %v", err)
	}
	conn2 := connect(t, u)
	if got := queryInt(t, conn2, "SELECT count(*) FROM traffic"); got != 10 {
		t.Errorf("%d rows in the recreated database, want 10", got)
	}
}

// TestTrafficFunc checks the dashboards' function on plain PostgreSQL: the
// raw rows of the range, bounds included, whatever the max_bucket.
func TestTrafficFunc(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDB(t)
	s := newSink(t, dsn, sdk.Config{"table": "flows.traffic"})
	for i := range 5 {
		start := minute.Add(time.Duration(i) * time.Minute)
		if err := s.Write(ctx, bigBatch(batchID("fra1", start, i), start, 10)); err != nil {
			t.Fatal(err)
		}
	}
	conn := connect(t, dsn)
	for _, c := range []struct {
		q    string
		want int64
	}{
		{"SELECT count(*) FROM flows.lastfluss_traffic($1::timestamptz, $1 + interval '4 minutes')", 50},
		{"SELECT count(*) FROM flows.lastfluss_traffic($1::timestamptz + interval '1 minute', $1 + interval '3 minutes')", 30},
		{"SELECT count(*) FROM flows.lastfluss_traffic($1::timestamptz, $1 + interval '10 years', '5 minutes')", 50},
		{"SELECT count(*) FROM flows.lastfluss_traffic($1::timestamptz - interval '1 day', $1 - interval '1 second')", 0},
		{"SELECT sum(bytes) FROM flows.lastfluss_traffic($1::timestamptz, $1 + interval '1 day')", 5 * bigBatchBytes(10)},
	} {
		if got := queryInt(t, conn, c.q, minute); got != c.want {
			t.Errorf("%s = %d, want %d", c.q, got, c.want)
		}
	}
}
