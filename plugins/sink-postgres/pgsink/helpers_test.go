package pgsink

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lastfluss/lastfluss/internal/pgtest"
	"github.com/lastfluss/lastfluss/sdk"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newSink returns a sink configured on dsn with extra config values, closed
// when the test ends.
func newSink(t testing.TB, dsn string, extra sdk.Config) *Sink {
	t.Helper()
	cfg := sdk.Config{"dsn": dsn}
	for k, v := range extra {
		cfg[k] = v
	}
	s := &Sink{Logger: quiet}
	if err := s.Configure(context.Background(), cfg); err != nil {
		t.Fatalf("configure: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t testing.TB, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryInt(t testing.TB, conn *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n *int64
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if n == nil {
		return 0
	}
	return *n
}

var testInterfaces = []sdk.Interface{
	{Exporter: "edge1-fra", Name: "transit-cogent", Role: "transit", IfIndex: 531, PeerASN: 174},
	{Exporter: "edge1-fra", Name: "ix-decix", Role: "ix", IfIndex: 612},
	{Exporter: "edge2-fra", Name: "pni-google", Role: "pni", IfIndex: 7, PeerASN: 15169},
	{Exporter: "edge2-fra", Name: "no-role", IfIndex: 8},
}

// bigBatch makes a batch of n distinct rows with known values: row i has
// bytes 1000+i, so a batch's byte total is n*1000 + n(n-1)/2.
func bigBatch(id string, start time.Time, n int) *sdk.Batch {
	b := &sdk.Batch{
		ID:          id,
		CollectorID: "fra1",
		Start:       start,
		Interval:    time.Minute,
		Interfaces:  testInterfaces,
		Rows:        make([]sdk.Row, n),
		ASNames: map[uint32]sdk.ASInfo{
			174:   {Name: "COGENT-174", Description: "Cogent Communications", Country: "US"},
			15169: {Name: "GOOGLE", Description: "Google LLC", Country: "US"},
		},
	}
	for i := range b.Rows {
		b.Rows[i] = sdk.Row{
			Interface: uint32(i % len(testInterfaces)),
			Direction: sdk.Direction(i / len(testInterfaces) % 2),
			RemoteASN: uint32(i/(2*len(testInterfaces))) + 1,
			LocalASN:  64500,
			IPVersion: 4 + 2*uint8(i%3/2),
			Bytes:     uint64(1000 + i),
			Packets:   uint64(1 + i%100),
			Flows:     uint64(1 + i%7),
		}
	}
	return b
}

func bigBatchBytes(n int) int64 { return int64(n)*1000 + int64(n)*int64(n-1)/2 }

// minute is a fixed, aligned interval start for tests that do not need
// "now".
var minute = time.Date(2026, 12, 4, 10, 5, 0, 0, time.UTC)

func batchID(collector string, start time.Time, seq int) string {
	return fmt.Sprintf("%s/%s/abcd/%d", collector, start.Format(time.RFC3339), seq)
}
