package flowgen

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	"github.com/netsampler/goflow2/v2/decoders/sflow"
)

// refCollector is a small, separate implementation of the counting rules of
// DESIGN.md on top of goflow2's decoders. It checks the generator's truth.
type refCollector struct {
	t         *testing.T
	byAddr    map[netip.Addr]Exporter // configured address
	bySource  map[netip.Addr]Exporter // UDP source
	templates map[netip.Addr]netflow.NetFlowTemplateSystem
	learned   map[netip.Addr]uint32 // rates from options data
	exps      map[string]*TruthExporter
	rows      map[RowKey]*TruthRow
	uncl      map[[2]any]*TruthUnclassified
	seen      map[string]int // features the scenario exercised
}

func newRefCollector(t *testing.T, exps []Exporter) *refCollector {
	c := &refCollector{t: t, byAddr: map[netip.Addr]Exporter{}, bySource: map[netip.Addr]Exporter{},
		templates: map[netip.Addr]netflow.NetFlowTemplateSystem{}, learned: map[netip.Addr]uint32{},
		exps: map[string]*TruthExporter{}, rows: map[RowKey]*TruthRow{}, uncl: map[[2]any]*TruthUnclassified{},
		seen: map[string]int{}}
	for _, e := range exps {
		c.byAddr[e.Address] = e
		c.bySource[e.Source] = e
		c.templates[e.Address] = netflow.CreateTemplateSystem()
		c.exps[e.Name] = &TruthExporter{Name: e.Name, Address: e.Address, Source: e.Source, Protocol: e.Protocol}
		if e.Source != e.Address {
			c.seen["source differs from agent"]++
		}
	}
	return c
}

func (c *refCollector) malformed(e Exporter, kind string) {
	te := c.exps[e.Name]
	te.MalformedSent++
	if te.Malformed == nil {
		te.Malformed = map[string]uint64{}
	}
	te.Malformed[kind]++
	c.seen["malformed "+kind]++
}

// record counts one decoded record.
func (c *refCollector) record(e Exporter, rate uint32, f Flow, inIsIf, outIsIf bool, v uint8) {
	te := c.exps[e.Name]
	if v != 0 {
		te.FlowsSent++
	}
	if rate == 0 {
		rate = e.ConfiguredRate
		c.seen["configured rate"]++
	}
	if te.SamplingRate != 0 && te.SamplingRate != rate {
		c.t.Errorf("exporter %s: rate %d, before %d", e.Name, rate, te.SamplingRate)
	}
	te.SamplingRate = rate
	if v == 0 {
		te.NonIPSent++
		c.seen["non-IP"]++
		return
	}
	c.seen["IPv"+string('0'+v)]++
	if f.SrcAS > 0xffff || f.DstAS > 0xffff {
		c.seen["4-byte AS"]++
	}
	if !inIsIf || !outIsIf {
		c.seen["sFlow format bits"]++
	}
	find := func(ifIndex uint32, isIf bool) (Interface, bool) {
		for _, itf := range e.Interfaces {
			if isIf && itf.IfIndex == ifIndex {
				return itf, true
			}
		}
		return Interface{}, false
	}
	b, p := f.Bytes*uint64(rate), f.Packets*uint64(rate)
	loc := func(as uint32) uint32 {
		if as == 0 && e.LocalASN != 0 {
			c.seen["AS 0 is local_asn"]++
			return e.LocalASN
		}
		return as
	}
	add := func(itf Interface, dir string, remote, local uint32) {
		k := RowKey{e.Name, itf.IfIndex, dir, remote, local, v}
		r := c.rows[k]
		if r == nil {
			r = &TruthRow{Exporter: e.Name, Interface: itf.Name, IfIndex: itf.IfIndex, Role: itf.Role, Direction: dir,
				RemoteASN: remote, LocalASN: local, IPVersion: v}
			c.rows[k] = r
		}
		r.Bytes += b
		r.Packets += p
		r.Flows++
	}
	in, inOK := find(f.InIf, inIsIf)
	out, outOK := find(f.OutIf, outIsIf)
	if e.RecordsBoth {
		if f.Egress {
			inOK = false
			c.seen["egress record"]++
		} else {
			outOK = false
		}
	}
	if inOK {
		add(in, "in", f.SrcAS, loc(f.DstAS))
	}
	if outOK {
		add(out, "out", f.DstAS, loc(f.SrcAS))
	}
	if inOK && outOK {
		c.seen["both sides"]++
	}
	if inOK || outOK {
		return
	}
	c.seen["unclassified"]++
	ifIndex := f.InIf
	if !inIsIf {
		ifIndex = 0
	}
	if ifIndex == 0 || e.RecordsBoth && f.Egress {
		ifIndex = f.OutIf
		if !outIsIf {
			ifIndex = 0
		}
	}
	k := [2]any{e.Name, ifIndex}
	u := c.uncl[k]
	if u == nil {
		u = &TruthUnclassified{Exporter: e.Name, IfIndex: ifIndex}
		c.uncl[k] = u
	}
	u.Bytes += b
	u.Packets += p
	u.Flows++
	te.Unclassified.Bytes += b
	te.Unclassified.Packets += p
	te.Unclassified.Flows++
}

// setsFit reports whether every v9/IPFIX set lies inside the datagram:
// goflow2 reads a cut set without complaint.
func setsFit(b []byte, hdr int) bool {
	for b = b[hdr:]; len(b) > 0; {
		if len(b) < 4 {
			return false
		}
		n := int(binary.BigEndian.Uint16(b[2:]))
		if n < 4 || n > len(b) {
			return false
		}
		b = b[n:]
	}
	return true
}

func (c *refCollector) datagram(d Datagram) {
	t := c.t
	if d.Target == TargetSFlow {
		c.sflow(d)
		return
	}
	e, ok := c.byAddr[d.Src]
	if !ok {
		t.Fatalf("netflow datagram from unknown %s", d.Src)
	}
	if len(d.Payload) < 2 {
		c.malformed(e, "short")
		return
	}
	switch binary.BigEndian.Uint16(d.Payload) {
	case 5:
		var p netflowlegacy.PacketNetFlowV5
		err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(d.Payload), &p)
		if err != nil || len(d.Payload) != 24+48*int(p.Count) {
			c.malformed(e, "v5")
			return
		}
		c.exps[e.Name].PacketsSent++
		var rate uint32
		if p.SamplingInterval>>14 == 1 {
			rate = uint32(p.SamplingInterval & 0x3fff)
			c.seen["rate v5"]++
		}
		for _, r := range p.Records {
			f := Flow{Bytes: uint64(r.DOctets), Packets: uint64(r.DPkts), InIf: uint32(r.Input), OutIf: uint32(r.Output),
				SrcAS: uint32(r.SrcAS), DstAS: uint32(r.DstAS)}
			c.record(e, rate, f, true, true, 4)
		}
	case 9, 10:
		var v9 netflow.NFv9Packet
		var ix netflow.IPFIXPacket
		err := netflow.DecodeMessageVersion(bytes.NewBuffer(d.Payload), c.templates[e.Address], &v9, &ix)
		hdr, sets := 20, v9.FlowSets
		if binary.BigEndian.Uint16(d.Payload) == 10 {
			hdr, sets = 16, ix.FlowSets
			if ix.ObservationDomainId != 0 {
				c.seen["IPFIX domain"]++
			}
			if err == nil && int(ix.Length) != len(d.Payload) {
				err = bytes.ErrTooLarge
			}
		} else if v9.SourceId != 0 {
			c.seen["v9 source id"]++
		}
		if err != nil || !setsFit(d.Payload, hdr) {
			c.malformed(e, "netflow")
			return
		}
		c.exps[e.Name].PacketsSent++
		for _, s := range sets {
			switch s := s.(type) {
			case netflow.OptionsDataFlowSet:
				for _, r := range s.Records {
					vals := map[uint16]uint64{}
					for _, v := range r.OptionsValues {
						vals[v.Type] = uintOf(v.Value.([]byte))
					}
					switch {
					case vals[FieldSamplingInterval] != 0:
						c.learned[e.Address] = uint32(vals[FieldSamplingInterval])
						c.seen["rate option 34"]++
					case vals[FieldSamplerRandomInterv] != 0:
						c.learned[e.Address] = uint32(vals[FieldSamplerRandomInterv])
						c.seen["rate option 50"]++
					case vals[FieldSamplingPacketInt] != 0:
						c.learned[e.Address] = uint32((vals[FieldSamplingPacketInt] + vals[FieldSamplingPacketSpace]) / vals[FieldSamplingPacketInt])
						c.seen["rate option 305/306"]++
					}
				}
			case netflow.DataFlowSet:
				for _, r := range s.Records {
					f := flowFromFields(t, r.Values)
					c.record(e, c.learned[e.Address], f, true, true, f.IPVersion())
				}
			}
		}
	default:
		c.malformed(e, "version")
	}
}

func (c *refCollector) sflow(d Datagram) {
	var p sflow.Packet
	err := sflow.DecodeMessageVersion(bytes.NewBuffer(d.Payload), &p)
	decoded := 0
	for _, s := range p.Samples {
		if s != nil {
			decoded++
		}
	}
	if err != nil || decoded != int(p.SamplesCount) {
		e, ok := c.bySource[d.Src]
		if !ok {
			c.t.Fatalf("sflow garbage from unknown %s", d.Src)
		}
		c.malformed(e, "sflow")
		return
	}
	agent, _ := netip.AddrFromSlice(p.AgentIP)
	e, ok := c.byAddr[agent]
	if !ok {
		c.t.Fatalf("sflow agent %s unknown", agent)
	}
	c.exps[e.Name].PacketsSent++
	for _, s := range p.Samples {
		var rate, in, out uint32
		var inIf, outIf bool
		var recs []sflow.FlowRecord
		switch s := s.(type) {
		case sflow.FlowSample:
			rate, in, out, recs = s.SamplingRate, s.Input, s.Output, s.Records
			inIf, outIf = in>>30 == 0, out>>30 == 0
		case sflow.ExpandedFlowSample:
			rate, in, out, recs = s.SamplingRate, s.InputIfValue, s.OutputIfValue, s.Records
			inIf, outIf = s.InputIfFormat == 0, s.OutputIfFormat == 0
			c.seen["sFlow expanded"]++
		default:
			c.t.Fatalf("sample %T", s)
		}
		f := Flow{Packets: 1, InIf: in, OutIf: out}
		var v uint8
		for _, r := range recs {
			switch rd := r.Data.(type) {
			case sflow.SampledHeader:
				f.Bytes, v = l3Length(c.t, rd.HeaderData)
				if uint64(rd.FrameLength) <= f.Bytes {
					c.t.Errorf("frame length %d not above L3 length %d", rd.FrameLength, f.Bytes)
				}
			case sflow.ExtendedGateway:
				f.SrcAS = rd.SrcAS
				if len(rd.ASPath) > 0 {
					f.DstAS = rd.ASPath[len(rd.ASPath)-1]
				}
			}
		}
		c.seen["rate sFlow"]++
		c.record(e, rate, f, inIf, outIf, v)
	}
}

func (c *refCollector) truth(seed int64, exps []Exporter) *Truth {
	t := &Truth{Seed: seed, Rows: []TruthRow{}, Unclassified: []TruthUnclassified{}}
	for _, e := range exps {
		te := *c.exps[e.Name]
		if te.FlowsSent == 0 {
			te.SamplingRate = e.Rate() // nothing to observe it on
		}
		t.Exporters = append(t.Exporters, te)
	}
	for _, r := range c.rows {
		t.Rows = append(t.Rows, *r)
	}
	for _, u := range c.uncl {
		t.Unclassified = append(t.Unclassified, *u)
	}
	SortRows(t.Rows)
	SortUnclassified(t.Unclassified)
	return t
}

// withoutKinds drops the malformed-by-kind maps, whose kind names differ
// between the generator and the reference collector.
func withoutKinds(t *Truth) *Truth {
	c := *t
	c.Exporters = nil
	for _, e := range t.Exporters {
		e.Malformed = nil
		c.Exporters = append(c.Exporters, e)
	}
	return &c
}

func TestScenarioTruthMatchesGoflow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  func(*Options)
		flows int
		want  []string // features the decoded traffic must show
	}{
		{"defaults", func(*Options) {}, 20000, []string{
			"IPv4", "IPv6", "4-byte AS", "AS 0 is local_asn", "unclassified", "both sides", "egress record", "non-IP",
			"sFlow format bits", "sFlow expanded", "source differs from agent", "IPFIX domain", "v9 source id",
			"rate v5", "rate option 34", "rate option 305/306", "rate sFlow",
			"malformed v5", "malformed netflow", "malformed sflow",
		}},
		{"eight exporters, one without rate", func(o *Options) {
			o.Exporters, o.NoRateExporter, o.Seed, o.Malformed = 8, 4, 7, 0.05
		}, 30000, []string{"rate option 50", "rate option 34", "rate option 305/306", "configured rate", "malformed version"}},
		{"v9 only, both", func(o *Options) {
			o.Protocols, o.Exporters, o.RecordsPerPacket, o.TemplateEvery, o.NoRateExporter = []string{ProtoV9}, 2, 7, 3, 1
		}, 3000, []string{"egress record", "rate option 34", "configured rate", "v9 source id"}},
		{"sflow only, many interfaces", func(o *Options) {
			o.Protocols, o.Exporters, o.Interfaces, o.ASNs = []string{ProtoSFlow}, 3, 120, 5
		}, 5000, []string{"sFlow format bits", "non-IP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions()
			tc.opts(&opts)
			opts.Flows = tc.flows
			s, err := Generate(opts)
			if err != nil {
				t.Fatal(err)
			}
			ref := newRefCollector(t, s.Exporters)
			var flows int
			for _, d := range s.Datagrams {
				ref.datagram(d)
				flows += d.Flows
			}
			if flows != tc.flows {
				t.Errorf("datagrams carry %d flows, want %d", flows, tc.flows)
			}
			got := ref.truth(opts.Seed, s.Exporters)
			if d := cmp.Diff(withoutKinds(got), withoutKinds(s.Truth), addrCmp); d != "" {
				t.Errorf("goflow2 recount (-got +want):\n%s", d)
			}
			for _, f := range tc.want {
				if ref.seen[f] == 0 {
					t.Errorf("scenario never shows %q; seen %v", f, ref.seen)
				}
			}
		})
	}
}

func TestGenerateDeterministic(t *testing.T) {
	gen := func(seed int64) *Scenario {
		t.Helper()
		o := DefaultOptions()
		o.Seed, o.Flows = seed, 2000
		s, err := Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b, c := gen(3), gen(3), gen(4)
	if d := cmp.Diff(a, b, addrCmp); d != "" {
		t.Errorf("same seed, different scenario (-first +second):\n%s", d)
	}
	if cmp.Equal(a.Truth.Rows, c.Truth.Rows) {
		t.Error("seeds 3 and 4 give the same rows")
	}
}

func TestTruthRoundTrip(t *testing.T) {
	s, err := Generate(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "truth.json")
	if err := WriteTruth(path, s.Truth); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTruth(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, s.Truth, addrCmp); d != "" {
		t.Errorf("read back (-got +want):\n%s", d)
	}
}

func TestNewGeneratorRejects(t *testing.T) {
	for name, mod := range map[string]func(*Options){
		"no exporters":       func(o *Options) { o.Exporters = 0 },
		"unknown protocol":   func(o *Options) { o.Protocols = []string{"v7"} },
		"sflow without rate": func(o *Options) { o.NoRateExporter = 3 },
		"v5 rate too big":    func(o *Options) { o.SamplingRate = 20000 },
		"malformed 1":        func(o *Options) { o.Malformed = 1 },
	} {
		o := DefaultOptions()
		mod(&o)
		if _, err := NewGenerator(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzScenario checks that any valid scenario's truth equals the goflow2
// recount of its datagrams.
func FuzzScenario(f *testing.F) {
	f.Add(int64(1), uint8(4), uint8(4), uint8(24), uint8(0x0f), uint8(1), int8(-1))
	f.Add(int64(99), uint8(9), uint8(1), uint8(1), uint8(0x06), uint8(30), int8(2))
	f.Fuzz(func(t *testing.T, seed int64, exporters, interfaces, rpp, protoMask, malformedPct uint8, noRate int8) {
		o := DefaultOptions()
		o.Seed, o.Exporters, o.Interfaces, o.RecordsPerPacket = seed, int(exporters%12)+1, int(interfaces)%130+1, int(rpp)%200+1
		o.Malformed, o.NoRateExporter, o.Flows, o.TemplateEvery = float64(malformedPct%50)/100, int(noRate), 600, int(rpp%7)+1
		o.Protocols = nil
		for i, p := range []string{ProtoV5, ProtoV9, ProtoIPFIX, ProtoSFlow} {
			if protoMask&(1<<i) != 0 {
				o.Protocols = append(o.Protocols, p)
			}
		}
		if len(o.Protocols) == 0 || o.NoRateExporter >= 0 && o.Protocols[o.NoRateExporter%len(o.Protocols)] == ProtoSFlow {
			return
		}
		s, err := Generate(o)
		if err != nil {
			if o.NoRateExporter < o.Exporters {
				t.Fatalf("Generate(%+v): %v", o, err)
			}
			return
		}
		ref := newRefCollector(t, s.Exporters)
		for _, d := range s.Datagrams {
			ref.datagram(d)
		}
		if d := cmp.Diff(withoutKinds(ref.truth(o.Seed, s.Exporters)), withoutKinds(s.Truth), addrCmp); d != "" {
			t.Errorf("goflow2 recount (-got +want):\n%s", d)
		}
	})
}
