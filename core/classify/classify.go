// Package classify decides, for each decoded record, on which declared
// interface and in which direction it counts, with which ASNs and at which
// sampling rate, and adds it to the worker's shard.
package classify

import (
	"log/slog"
	"net/netip"
	"sync/atomic"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/core/decode"
)

// Table is an immutable view of the configured exporters and interfaces.
// A reload builds a new Table; workers pick it up between datagrams.
type Table struct {
	exporters map[netip.Addr]*Exporter
	byName    map[string]*Exporter
}

// Exporter is one configured exporter as the hot path needs it.
type Exporter struct {
	Name       string
	ID         uint32 // interned in the aggregate.Registry
	localASN   uint32
	both       bool
	sampling   uint32
	force      uint32
	interfaces ifaces

	// Counters owned by metrics; set by the caller that builds the table.
	Counters *Counters
}

// ifaces finds an exporter's declared interfaces by ifIndex: in a slice
// indexed by ifIndex when the ifIndexes are small (most routers), else in a
// map. Two look-ups per record make this worth it.
type ifaces struct {
	dense  []*iface
	sparse map[uint32]*iface
}

// maxDense bounds the slice (8 bytes an entry) per exporter.
const maxDense = 4096

func (f *ifaces) set(ifindex uint32, i *iface) {
	if f.sparse == nil {
		f.sparse = make(map[uint32]*iface)
	}
	f.sparse[ifindex] = i
	if ifindex < maxDense {
		if int(ifindex) >= len(f.dense) {
			f.dense = append(f.dense, make([]*iface, int(ifindex)+1-len(f.dense))...)
		}
		f.dense[ifindex] = i
	}
}

func (f *ifaces) get(ifindex uint32) *iface {
	if ifindex < uint32(len(f.dense)) {
		return f.dense[ifindex]
	}
	if ifindex < maxDense {
		return nil
	}
	return f.sparse[ifindex]
}

type iface struct {
	id       uint32
	sampling uint32
	force    uint32
}

// Counters are an exporter's per-record counters. They are plain atomics so
// the hot path never touches a label map; metrics read them at scrape time.
type Counters struct {
	Packets         atomic.Uint64
	Flows           atomic.Uint64
	Unclassified    atomic.Uint64
	SamplingAssumed atomic.Uint64
	warnedAssumed   atomic.Bool
}

// NewTable builds the table for cfg, interning names in reg. Counters of
// exporters that existed in prev are kept, so a reload does not reset them.
func NewTable(cfg *config.Config, reg *aggregate.Registry, prev *Table) *Table {
	t := &Table{exporters: make(map[netip.Addr]*Exporter), byName: make(map[string]*Exporter)}
	for _, ce := range cfg.Exporters {
		e := &Exporter{
			Name:     ce.Name,
			ID:       reg.Exporter(ce.Name),
			localASN: ce.LocalASN,
			both:     ce.Records == config.RecordsBoth,
			sampling: ce.SamplingRate,
			force:    ce.ForceSamplingRate,
			Counters: new(Counters),
		}
		if prev != nil {
			if pe, ok := prev.byName[ce.Name]; ok {
				e.Counters = pe.Counters
			}
		}
		for _, ci := range ce.Interfaces {
			e.interfaces.set(ci.IfIndex, &iface{
				id: reg.Interface(aggregate.Interface{
					Exporter:    ce.Name,
					Name:        ci.Name,
					Role:        ci.Role,
					IfIndex:     ci.IfIndex,
					PeerASN:     ci.PeerASN,
					Description: ci.Description,
				}),
				sampling: ci.SamplingRate,
				force:    ci.ForceSamplingRate,
			})
		}
		t.exporters[ce.Address.Unmap()] = e
		t.byName[ce.Name] = e
	}
	return t
}

// Exporter returns the exporter configured for addr, or nil.
func (t *Table) Exporter(addr netip.Addr) *Exporter {
	return t.exporters[addr.Unmap()]
}

// ExporterCache remembers a few answers of Table.Exporter for one
// goroutine: a worker sees the same exporters datagram after datagram, and
// hashing an address costs more than the rest of a datagram's lookups. A
// Table never changes once built (a reload builds another), so an answer
// stays right for as long as its table is the one asked.
type ExporterCache struct {
	slots [8]exporterSlot
}

type exporterSlot struct {
	t    *Table
	addr netip.Addr
	e    *Exporter
}

// Exporter is t.Exporter(addr), remembered.
func (c *ExporterCache) Exporter(t *Table, addr netip.Addr) *Exporter {
	addr = addr.Unmap()
	a := addr.As16()
	s := &c.slots[(a[15]^a[14]^a[13])&7]
	if s.t != t || s.addr != addr {
		*s = exporterSlot{t, addr, t.exporters[addr]}
	}
	return s.e
}

// Exporters returns every exporter of the table.
func (t *Table) Exporters() []*Exporter {
	es := make([]*Exporter, 0, len(t.byName))
	for _, e := range t.byName {
		es = append(es, e)
	}
	return es
}

// rate applies DESIGN.md's precedence: forced (interface, exporter), then
// announced, then configured (interface, exporter), else 1.
func (e *Exporter) rate(i *iface, announced uint32) (rate uint32, assumed bool) {
	switch {
	case i != nil && i.force != 0:
		return i.force, false
	case e.force != 0:
		return e.force, false
	case announced != 0:
		return announced, false
	case i != nil && i.sampling != 0:
		return i.sampling, false
	case e.sampling != 0:
		return e.sampling, false
	}
	return 1, true
}

// Classify adds one record of exporter e to s and reports whether it
// counted on at least one declared interface.
func (e *Exporter) Classify(logger *slog.Logger, r *decode.Record, s *aggregate.Shard) bool {
	e.Counters.Flows.Add(1)
	return e.ClassifyLive(logger, r, s, nil)
}

// ClassifyLive is Classify that also adds the record to live, the shard of
// the live view, when one is being watched (live is not nil). It leaves
// Counters.Flows to the caller, which adds a datagram's records at once:
// workers sharing an exporter would otherwise fight over its counter's
// cache line for every record.
func (e *Exporter) ClassifyLive(logger *slog.Logger, r *decode.Record, s, live *aggregate.Shard) bool {
	if r.IPVersion == 0 {
		return false // a non-IP sample: received, never counted
	}
	in := e.interfaces.get(r.InIf)
	out := e.interfaces.get(r.OutIf)
	if r.InIf == 0 {
		in = nil
	}
	if r.OutIf == 0 {
		out = nil
	}
	// With ingress and egress records both exported, each counts only on
	// the side it was observed on, so nothing counts twice.
	if e.both {
		switch r.Direction {
		case decode.DirectionIngress:
			out = nil
		case decode.DirectionEgress:
			in = nil
		}
	}
	if in == nil && out == nil {
		rate, assumed := e.rate(nil, r.SamplingRate)
		e.noteAssumed(logger, assumed)
		e.Counters.Unclassified.Add(1)
		// Keyed by the side the record was observed on.
		ifindex := r.InIf
		if ifindex == 0 || (e.both && r.Direction == decode.DirectionEgress) {
			ifindex = r.OutIf
		}
		k := aggregate.UnclassifiedKey{Exporter: e.ID, IfIndex: ifindex}
		v := aggregate.Values{Bytes: r.Bytes * uint64(rate), Packets: r.Packets * uint64(rate), Flows: 1}
		s.AddUnclassified(k, v)
		if live != nil {
			live.AddUnclassified(k, v)
		}
		return false
	}
	assumedAny := false
	if in != nil {
		rate, assumed := e.rate(in, r.SamplingRate)
		assumedAny = assumed
		add(s, live, in.id, r.SrcAS, e.local(r.DstAS), aggregate.In, r.IPVersion,
			aggregate.Values{Bytes: r.Bytes * uint64(rate), Packets: r.Packets * uint64(rate), Flows: 1})
	}
	if out != nil {
		rate, assumed := e.rate(out, r.SamplingRate)
		assumedAny = assumedAny || assumed
		add(s, live, out.id, r.DstAS, e.local(r.SrcAS), aggregate.Out, r.IPVersion,
			aggregate.Values{Bytes: r.Bytes * uint64(rate), Packets: r.Packets * uint64(rate), Flows: 1})
	}
	e.noteAssumed(logger, assumedAny) // once per record, not per side
	return true
}

func add(s, live *aggregate.Shard, iface, remote, local uint32, dir aggregate.Direction, ipVersion uint8, v aggregate.Values) {
	s.AddFlow(iface, remote, local, dir, ipVersion, v)
	if live != nil {
		live.AddFlow(iface, remote, local, dir, ipVersion, v)
	}
}

// local replaces AS 0 on the local side by local_asn when one is configured.
func (e *Exporter) local(as uint32) uint32 {
	if as == 0 {
		return e.localASN
	}
	return as
}

func (e *Exporter) noteAssumed(logger *slog.Logger, assumed bool) {
	if !assumed {
		return
	}
	e.Counters.SamplingAssumed.Add(1)
	if e.Counters.warnedAssumed.CompareAndSwap(false, true) {
		logger.Warn("exporter announces no sampling rate and none is configured: assuming 1:1; set sampling_rate if it samples",
			"exporter", e.Name)
	}
}
