package flowgen

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"slices"
)

// Truth is what a correct collector computes from the datagrams a generator
// produced, summed over all intervals.
//
// Definitions:
//   - packets_sent: valid datagrams (every one decodes completely).
//   - malformed_sent: datagrams that must be rejected whole (truncated, bad
//     version, unknown template, garbage); none carries a decodable record,
//     so they add nothing else. For an sFlow exporter they leave from its
//     UDP source; a collector cannot always tell which agent sent garbage.
//   - flows_sent: flow records in valid datagrams that a collector decodes
//     as flow records (lastfluss_flows_received_total): v5 records, v9/IPFIX
//     data records (options data records are not flows), sFlow flow samples
//     of IP packets; unclassified ones included. Non-IP sFlow samples are
//     not flow records: non_ip_sent counts them, nothing else does.
//   - rows: bytes and packets multiplied by the sampling rate per record,
//     flows unscaled; direction "in" on the input interface (remote = source
//     AS, local = destination AS), "out" on the output interface (remote =
//     destination AS, local = source AS); an AS 0 on the local side is the
//     exporter's local_asn when one is configured. With records = "both" an
//     ingress record counts only on its input side and an egress record
//     only on its output side.
//   - unclassified: IP records that count on no declared interface, per
//     exporter and ifIndex, keyed by the input ifIndex (the output ifIndex
//     when the input is 0 or not an ifIndex, and for an egress record of a
//     records = "both" exporter). Scaled like rows.
//   - Rates are integers (305 is always 1), so scaling needs no rounding.
type Truth struct {
	Seed         int64               `json:"seed"`
	Exporters    []TruthExporter     `json:"exporters"`
	Rows         []TruthRow          `json:"rows"`
	Unclassified []TruthUnclassified `json:"unclassified"`
}

// TruthExporter is what one exporter sent.
type TruthExporter struct {
	Name          string            `json:"name"`
	Address       netip.Addr        `json:"address"` // configured address (sFlow: agent)
	Source        netip.Addr        `json:"source"`  // UDP source address
	Protocol      string            `json:"protocol"`
	SamplingRate  uint32            `json:"sampling_rate"` // the rate a collector applies
	PacketsSent   uint64            `json:"packets_sent"`
	MalformedSent uint64            `json:"malformed_sent"`
	Malformed     map[string]uint64 `json:"malformed,omitempty"` // by kind
	FlowsSent     uint64            `json:"flows_sent"`
	NonIPSent     uint64            `json:"non_ip_sent"`
	Unclassified  Counters          `json:"unclassified"` // sum over ifIndexes
}

// Counters are scaled bytes and packets and unscaled flows.
type Counters struct {
	Bytes   uint64 `json:"bytes"`
	Packets uint64 `json:"packets"`
	Flows   uint64 `json:"flows"`
}

// TruthRow is one aggregation key with its totals.
type TruthRow struct {
	Exporter  string `json:"exporter"`
	Interface string `json:"interface"`
	IfIndex   uint32 `json:"ifindex"`
	Role      string `json:"role"`
	Direction string `json:"direction"` // "in" or "out"
	RemoteASN uint32 `json:"remote_asn"`
	LocalASN  uint32 `json:"local_asn"`
	IPVersion uint8  `json:"ip_version"`
	Bytes     uint64 `json:"bytes"`
	Packets   uint64 `json:"packets"`
	Flows     uint64 `json:"flows"`
}

// TruthUnclassified is traffic of an exporter on an undeclared ifIndex.
type TruthUnclassified struct {
	Exporter string `json:"exporter"`
	IfIndex  uint32 `json:"ifindex"`
	Bytes    uint64 `json:"bytes"`
	Packets  uint64 `json:"packets"`
	Flows    uint64 `json:"flows"`
}

// RowKey is the part of a TruthRow that identifies it.
type RowKey struct {
	Exporter  string
	IfIndex   uint32
	Direction string
	RemoteASN uint32
	LocalASN  uint32
	IPVersion uint8
}

// Key returns the row's key.
func (r TruthRow) Key() RowKey {
	return RowKey{r.Exporter, r.IfIndex, r.Direction, r.RemoteASN, r.LocalASN, r.IPVersion}
}

// SortRows orders rows by key, the order Truth files use.
func SortRows(rows []TruthRow) {
	slices.SortFunc(rows, func(a, b TruthRow) int {
		return cmp.Or(
			cmp.Compare(a.Exporter, b.Exporter),
			cmp.Compare(a.IfIndex, b.IfIndex),
			cmp.Compare(a.Direction, b.Direction),
			cmp.Compare(a.RemoteASN, b.RemoteASN),
			cmp.Compare(a.LocalASN, b.LocalASN),
			cmp.Compare(a.IPVersion, b.IPVersion),
		)
	})
}

// SortUnclassified orders unclassified entries by exporter and ifIndex.
func SortUnclassified(u []TruthUnclassified) {
	slices.SortFunc(u, func(a, b TruthUnclassified) int {
		return cmp.Or(cmp.Compare(a.Exporter, b.Exporter), cmp.Compare(a.IfIndex, b.IfIndex))
	})
}

// WriteTruth writes t as indented JSON to path.
func WriteTruth(path string, t *Truth) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("encode truth: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	return nil
}

// ReadTruth reads a truth file written by WriteTruth.
func ReadTruth(path string) (*Truth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read truth: %w", err)
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("decode truth %s: %w", path, err)
	}
	return &t, nil
}

// truthAcc accumulates a Truth as datagrams are produced.
type truthAcc struct {
	rows map[RowKey]*TruthRow
	uncl map[unclKey]*TruthUnclassified
}

type unclKey struct {
	exporter string
	ifIndex  uint32
}

func newTruthAcc() *truthAcc {
	return &truthAcc{rows: map[RowKey]*TruthRow{}, uncl: map[unclKey]*TruthUnclassified{}}
}

// count applies the counting rules of DESIGN.md ("What is counted") to one
// record f of exporter e.
func (a *truthAcc) count(e *exporterState, f *Flow) {
	st := &e.stats
	v := f.IPVersion()
	if v == 0 {
		st.NonIPSent++
		return
	}
	st.FlowsSent++
	rate := uint64(e.Rate())
	bytes, packets := f.Bytes*rate, f.Packets*rate
	inIf, inDecl := e.declared(f.InIf)
	outIf, outDecl := e.declared(f.OutIf)
	useIn, useOut := true, true
	if e.RecordsBoth {
		useIn, useOut = !f.Egress, f.Egress
	}
	local := func(as uint32) uint32 {
		if as == 0 {
			return e.LocalASN
		}
		return as
	}
	counted := false
	if useIn && inDecl {
		a.add(e, inIf, "in", f.SrcAS, local(f.DstAS), v, bytes, packets)
		counted = true
	}
	if useOut && outDecl {
		a.add(e, outIf, "out", f.DstAS, local(f.SrcAS), v, bytes, packets)
		counted = true
	}
	if counted {
		return
	}
	ifIndex := e.ifIndex(f.InIf)
	if ifIndex == 0 || e.RecordsBoth && f.Egress {
		ifIndex = e.ifIndex(f.OutIf)
	}
	k := unclKey{e.Name, ifIndex}
	u := a.uncl[k]
	if u == nil {
		u = &TruthUnclassified{Exporter: e.Name, IfIndex: ifIndex}
		a.uncl[k] = u
	}
	u.Bytes += bytes
	u.Packets += packets
	u.Flows++
	st.Unclassified.Bytes += bytes
	st.Unclassified.Packets += packets
	st.Unclassified.Flows++
}

func (a *truthAcc) add(e *exporterState, itf Interface, dir string, remote, local uint32, v uint8, bytes, packets uint64) {
	k := RowKey{e.Name, itf.IfIndex, dir, remote, local, v}
	r := a.rows[k]
	if r == nil {
		r = &TruthRow{Exporter: e.Name, Interface: itf.Name, IfIndex: itf.IfIndex, Role: itf.Role,
			Direction: dir, RemoteASN: remote, LocalASN: local, IPVersion: v}
		a.rows[k] = r
	}
	r.Bytes += bytes
	r.Packets += packets
	r.Flows++
}

func (a *truthAcc) snapshot(seed int64, exps []*exporterState) *Truth {
	t := &Truth{Seed: seed, Rows: []TruthRow{}, Unclassified: []TruthUnclassified{}}
	for _, e := range exps {
		st := e.stats
		if len(e.stats.Malformed) > 0 {
			st.Malformed = make(map[string]uint64, len(e.stats.Malformed))
			for k, v := range e.stats.Malformed {
				st.Malformed[k] = v
			}
		}
		t.Exporters = append(t.Exporters, st)
	}
	for _, r := range a.rows {
		t.Rows = append(t.Rows, *r)
	}
	for _, u := range a.uncl {
		t.Unclassified = append(t.Unclassified, *u)
	}
	SortRows(t.Rows)
	SortUnclassified(t.Unclassified)
	return t
}
