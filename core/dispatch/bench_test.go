package dispatch

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lastfluss/lastfluss/core/aggregate"
)

// BenchmarkQueueRoundTrip measures one batch through a sink's queue: encode,
// write and fsync, read back, decode, remove.
func BenchmarkQueueRoundTrip(b *testing.B) {
	for _, rows := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			batch := testBatch(batchID(1), rows)
			q, err := OpenQueue(discardLogger(), b.TempDir(), QueueConfiguration{})
			if err != nil {
				b.Fatal(err)
			}
			size := len(EncodeBatch(nil, batch))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := q.PutBatch(batch); err != nil {
					b.Fatal(err)
				}
				e, _ := q.Head()
				got, err := q.Read(e)
				if err != nil {
					b.Fatal(err)
				}
				if len(got.Rows) != rows {
					b.Fatalf("%d rows back, want %d", len(got.Rows), rows)
				}
				if err := q.Remove(e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size)/float64(rows), "bytes/row")
		})
	}
}

// BenchmarkCodec separates encoding and decoding from the disk.
func BenchmarkCodec(b *testing.B) {
	batch := testBatch(batchID(1), 1_000_000)
	data := EncodeBatch(nil, batch)
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		buf := make([]byte, 0, len(data))
		for b.Loop() {
			buf = EncodeBatch(buf[:0], batch)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeBatch(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDispatch measures a batch from Submit to the acknowledgement of
// an in-process sink: enrichment with one enricher, queue write, read back,
// decode.
func BenchmarkDispatch(b *testing.B) {
	for _, rows := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			sink := newRecordSink()
			names := &mapEnricher{names: map[uint32]aggregate.ASInfo{174: {Name: "COGENT"}}}
			d, err := New(discardLogger(), testConfiguration(b.TempDir()), Dependencies{
				Enrichers: []NamedEnricher{{Name: "file", Enricher: names}},
				Sinks:     []NamedSink{{Name: "db", Sink: sink}},
			})
			if err != nil {
				b.Fatal(err)
			}
			if err := d.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer d.Stop(time.Minute)
			batch := testBatch(batchID(1), rows)
			b.ReportAllocs()
			for b.Loop() {
				d.Submit(batch)
				if got := <-sink.got; len(got.Rows) != rows {
					b.Fatalf("%d rows delivered, want %d", len(got.Rows), rows)
				}
			}
		})
	}
}
