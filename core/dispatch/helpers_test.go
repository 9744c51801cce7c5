package dispatch

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/lastfluss/lastfluss/core/aggregate"
)

// testBatch builds a batch of n rows that look like real traffic: a few
// interfaces, many ASNs, every tenth row an IPv6 one, the last rows of each
// interface overflow rows.
func testBatch(id string, n int) *aggregate.Batch {
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	b := &aggregate.Batch{
		ID:          id,
		CollectorID: "fra1",
		Start:       time.Date(2026, 12, 4, 16, 17, 0, 0, time.UTC),
		Interval:    time.Minute,
		Interfaces: []aggregate.Interface{
			{Exporter: "edge1-fra", Name: "transit-cogent", Role: "transit", IfIndex: 531, PeerASN: 174, Description: "Cogent 100G"},
			{Exporter: "edge1-fra", Name: "ix-decix", Role: "ix", IfIndex: 612},
			{Exporter: "edge2-fra", Name: "pni-google", Role: "pni", IfIndex: 4_000_000_000, PeerASN: 15169},
		},
		Rows: make([]aggregate.Row, n),
		Unclassified: []aggregate.Unclassified{
			{Exporter: "edge1-fra", IfIndex: 77, Bytes: 123456789, Flows: 12},
		},
	}
	for i := range b.Rows {
		r := &b.Rows[i]
		r.Interface = uint32(i % len(b.Interfaces))
		r.Direction = aggregate.Direction(i / len(b.Interfaces) % 2)
		r.IPVersion = 4
		if i%10 == 0 {
			r.IPVersion = 6
		}
		if i >= n-2 {
			r.Other = true
		} else {
			r.RemoteASN = 1 + rng.Uint32N(400_000)
			r.LocalASN = 64500 + uint32(i%3)
		}
		r.Flows = 1 + rng.Uint64N(1000)
		r.Packets = r.Flows * (1 + rng.Uint64N(1000))
		r.Bytes = r.Packets * (40 + rng.Uint64N(1460))
	}
	return b
}

func batchID(i int) string {
	return fmt.Sprintf("fra1/2026-12-04T16:%02d:00Z/abcd/%03d", i%60, i)
}
