package pgsink

import (
	"context"
	"testing"
	"time"

	"github.com/lastfluss/lastfluss/internal/pgtest"
)

// BenchmarkWrite100k stores 100,000-row batches, one transaction each, into
// a table that grows with every iteration (its indexes too). The goal is
// under a second per batch.
func BenchmarkWrite100k(b *testing.B) {
	dsn := pgtest.NewDB(b)
	s := newSink(b, dsn, nil)
	batch := bigBatch("", minute, 100_000)
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		batch.Start = minute.Add(time.Duration(i) * time.Minute)
		batch.ID = batchID("bench", batch.Start, i)
		i++
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i)/float64(len(batch.Rows)), "ns/row")
}
