package control

import (
	"testing"
	"time"

	"github.com/lastfluss/lastfluss/core/aggregate"
)

// BenchmarkSecond measures what one second of the live view costs a
// stream: 100,000 rows over three interfaces folded, sorted and cut to the
// top 50 (the TUI's request).
func BenchmarkSecond(b *testing.B) {
	f := newFixture(b)
	ifaces := []uint32{f.iface(b, "edge1", "transit"), f.iface(b, "edge1", "ix"), f.iface(b, "edge2", "pni")}
	var batch *aggregate.Batch
	m := aggregate.NewMerger(f.srv.logger, aggregate.DefaultConfiguration(), f.reg, func(x *aggregate.Batch) { batch = x })
	w := m.AddWorker()
	s := m.NewShard(time.Unix(1_800_000_000, 0))
	for i := range uint32(100_000) {
		s.Add(aggregate.Key{Interface: ifaces[i%3], Direction: aggregate.Direction(i / 3 % 2), RemoteASN: i % 40_000, LocalASN: i % 3, IPVersion: 4},
			aggregate.Values{Bytes: uint64(i%1500 + 40), Packets: 1, Flows: 1})
	}
	m.Hand(w, s)
	b.ReportAllocs()
	for b.Loop() {
		sec := &second{batch: batch}
		_ = f.srv.update(sec, 50, 0)
	}
}
