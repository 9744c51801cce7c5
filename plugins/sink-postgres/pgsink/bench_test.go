package pgsink

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/lastfluss/lastfluss/internal/pgtest"
)

// BenchmarkWrite100k stores 100,000-row batches, one transaction each, into
// a table that grows with every iteration (its indexes too). The goal is
// under a second per batch. Beside wall time it reports the CPU time of the
// server and of this process per batch, which other load on a shared
// machine does not inflate.
func BenchmarkWrite100k(b *testing.B) {
	dsn := pgtest.NewDB(b)
	s := newSink(b, dsn, nil)
	batch := bigBatch("", minute, 100_000)
	ctx := context.Background()
	i := 0
	server0, client0 := pgtest.ServerCPU(b), selfCPU()
	b.ReportAllocs()
	for b.Loop() {
		batch.Start = minute.Add(time.Duration(i) * time.Minute)
		batch.ID = batchID("bench", batch.Start, i)
		i++
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((pgtest.ServerCPU(b)-server0).Milliseconds())/float64(i), "server-cpu-ms/op")
	b.ReportMetric(float64((selfCPU()-client0).Milliseconds())/float64(i), "client-cpu-ms/op")
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
