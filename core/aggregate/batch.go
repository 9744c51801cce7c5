// Package aggregate adds classified records up per interval: one shard per
// worker, merged into a Batch when the interval closes.
package aggregate

import "time"

// Direction of traffic on a declared interface.
type Direction uint8

const (
	In  Direction = 0
	Out Direction = 1
)

func (d Direction) String() string {
	if d == Out {
		return "out"
	}
	return "in"
}

// Interface is one declared interface as a batch names it. Rows refer to
// interfaces by their index in Batch.Interfaces.
type Interface struct {
	Exporter    string // the exporter block's name
	Name        string // the interface block's name
	Role        string
	IfIndex     uint32
	PeerASN     uint32
	Description string
}

// Row is one aggregation key and its values. Bytes and packets are scaled by
// the sampling rate; flows counts records.
type Row struct {
	Interface uint32 // index into Batch.Interfaces
	Direction Direction
	RemoteASN uint32 // unset (0) on Other rows
	LocalASN  uint32
	IPVersion uint8 // 4 or 6
	Other     bool  // the excess over the key cap, per interface and direction
	Bytes     uint64
	Packets   uint64
	Flows     uint64
}

// Unclassified is traffic of a configured exporter on an ifIndex that is not
// declared: a forgotten or renumbered interface.
type Unclassified struct {
	Exporter string
	IfIndex  uint32
	Bytes    uint64 // scaled
	Flows    uint64
}

// ASInfo is what an enricher knows about an ASN.
type ASInfo struct {
	Name        string
	Description string
	Country     string
}

// Batch is one closed interval, the unit handed to dispatch.
type Batch struct {
	ID           string // <collector_id>/<start RFC 3339 UTC>/<incarnation>/<seq>
	CollectorID  string
	Start        time.Time     // interval start, UTC
	Interval     time.Duration // nominal length, also for a partial batch
	Partial      bool          // closed early (shutdown or restart)
	Interfaces   []Interface
	Rows         []Row
	Unclassified []Unclassified    // top-N by bytes
	ASNames      map[uint32]ASInfo // filled by enrichers; nil before
}
