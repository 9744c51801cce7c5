// Package flowgen generates deterministic flow export traffic — NetFlow v5,
// v9, IPFIX and sFlow v5 from several exporters — together with the exact
// totals a correct collector computes from it (the truth, see Truth) and the
// exporter configuration the collector needs (Generator.Config). Its
// encoders are exported for decoder tests.
//
// The scenario of a seed: exporter i is "gen<i>" at 127.0.0.(10+i), speaking
// the protocols in turn (default v5, v9, ipfix, sflow). Each declares
// interfaces "if1".."ifK" (roles transit, peering, ix, pni in turn) and also
// sees traffic on the undeclared ifIndexes 98 and 99. Flows go towards us,
// from us or through us; the local side's AS is 0 half the time, and even
// exporters configure local_asn = 64500+i. IPv6 on all but v5; remote ASNs
// include 4-byte ones (not on v5).
//
// What each protocol exercises:
//   - v5: the rate in the header's sampling_interval (mode 01).
//   - v9: templates for IPv4 and IPv6 (4-byte counters, 2-byte interfaces);
//     the rate in options data scoped to the system, field 34 on the first
//     v9 exporter and field 50 on the next; non-zero source id on the first.
//   - IPFIX: 8-byte counters, 4-byte interfaces; the rate as 305/306 on the
//     first IPFIX exporter, field 34 on the next; non-zero observation
//     domain, records = "both" (field 61, ingress and egress twin records)
//     and a configured sampling_rate the announced rate must win over, on
//     the first. Without IPFIX, the first v9 exporter sends both records.
//   - sFlow: compact and expanded flow samples in turn, a raw Ethernet
//     header whose IP length (not the frame length) is the bytes, an
//     extended gateway for the ASes; the first sFlow exporter sends from
//     127.0.0.200 (-sflow-source), unlike its agent address. Samples 1, 2, 3
//     of every 50 (and 26, 27, 28) have an input with format bits (several
//     interfaces), an output discarded, and an ARP frame (not counted).
//   - Templates and sampling options go first in an exporter's first packet
//     and again every TemplateEvery packets.
//   - The NoRateExporter announces no rate; the config gives it a
//     sampling_rate of twice SamplingRate.
//   - Malformed datagrams (a Malformed fraction): truncated inside the first
//     record, a wrong version, garbage, and for v9/IPFIX a data set of an
//     unknown template. None holds a complete record.
package flowgen

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// Protocols flowgen speaks.
const (
	ProtoV5    = "v5"
	ProtoV9    = "v9"
	ProtoIPFIX = "ipfix"
	ProtoSFlow = "sflow"
)

// Targets a datagram is sent to.
const (
	TargetNetFlow = "netflow"
	TargetSFlow   = "sflow"
)

// Kinds of malformed datagrams.
const (
	MalformedTruncated       = "truncated"
	MalformedBadVersion      = "bad_version"
	MalformedUnknownTemplate = "unknown_template"
	MalformedGarbage         = "garbage"
)

// How an exporter announces its sampling rate.
const (
	RateV5Header    = "v5-header"
	RateOption34    = "option-34"      // options data, samplingInterval
	RateOption50    = "option-50"      // options data, samplerRandomInterval
	RateOption305   = "option-305-306" // options data, (305+306)/305
	RateSFlowSample = "sflow-sample"
	RateNone        = "none"
)

// Options describe a scenario.
type Options struct {
	Seed             int64
	Exporters        int      // at most 100, at 127.0.0.(10+i)
	Interfaces       int      // declared interfaces per exporter, ifIndex 1..Interfaces
	ASNs             int      // distinct remote ASNs
	Protocols        []string // cycled over the exporters
	SamplingRate     uint32
	NoRateExporter   int // index of an exporter that announces no rate (not sFlow), configured with twice SamplingRate; -1: none
	RecordsPerPacket int // v5: at most 30
	TemplateEvery    int // templates and sampling options re-sent every N packets
	Malformed        float64
	// SFlowSource is the UDP source of the first sFlow exporter, unlike its
	// agent address; invalid: every exporter sends from its own address.
	SFlowSource netip.Addr
	Start       time.Time // header clocks; zero: a fixed time
	Flows       int       // Generate: flow records in all
}

// DefaultOptions are the defaults of `lastfluss flowgen`.
func DefaultOptions() Options {
	return Options{
		Seed:             1,
		Exporters:        4,
		Interfaces:       4,
		ASNs:             200,
		Protocols:        []string{ProtoV5, ProtoV9, ProtoIPFIX, ProtoSFlow},
		SamplingRate:     1000,
		NoRateExporter:   -1,
		RecordsPerPacket: 24,
		TemplateEvery:    20,
		Malformed:        0.01,
		SFlowSource:      netip.MustParseAddr("127.0.0.200"),
		Flows:            10000,
	}
}

// Interface is a declared interface.
type Interface struct {
	IfIndex uint32
	Name    string
	Role    string
}

// Exporter is one simulated router.
type Exporter struct {
	Index          int
	Name           string
	Address        netip.Addr // configured address: NetFlow source, sFlow agent
	Source         netip.Addr // UDP source the datagrams leave from
	Protocol       string
	Interfaces     []Interface
	Undeclared     []uint32 // ifIndexes with traffic that are not declared
	AnnouncedRate  uint32   // 0: announces none
	RateStyle      string
	ConfiguredRate uint32 // sampling_rate in the config; 0: not set
	LocalASN       uint32 // local_asn in the config; 0: not set
	RecordsBoth    bool   // records = "both": ingress and egress records, field 61
	DomainID       uint32 // v9 source id, IPFIX observation domain
}

// Rate is the sampling rate a collector applies to this exporter's records.
func (e *Exporter) Rate() uint32 {
	if e.AnnouncedRate != 0 {
		return e.AnnouncedRate
	}
	if e.ConfiguredRate != 0 {
		return e.ConfiguredRate
	}
	return 1
}

// ifIndex is v as an ifIndex: 0 for an sFlow value with format bits.
func (e *Exporter) ifIndex(v uint32) uint32 {
	if e.Protocol == ProtoSFlow && v>>30 != 0 {
		return 0
	}
	return v
}

func (e *Exporter) declared(ifIndex uint32) (Interface, bool) {
	if ifIndex = e.ifIndex(ifIndex); ifIndex == 0 {
		return Interface{}, false
	}
	for _, itf := range e.Interfaces {
		if itf.IfIndex == ifIndex {
			return itf, true
		}
	}
	return Interface{}, false
}

// Datagram is one UDP payload and where it goes.
type Datagram struct {
	Exporter  int        // index into the scenario's exporters
	Src       netip.Addr // UDP source address
	Target    string     // TargetNetFlow or TargetSFlow
	Payload   []byte
	Flows     int    // flow records a collector decodes from it (IP ones: flows_sent)
	Malformed string // kind; "" for a valid datagram
}

var roles = []string{"transit", "peering", "ix", "pni"}

const (
	ownASNBase      = 64500 // exporter i's own ASN: 64500+i
	customerASNBase = 65000 // four customer ASNs
	snapLength      = 128   // sFlow header bytes
)

type exporterState struct {
	Exporter
	stats      TruthExporter
	packets    uint64 // valid datagrams
	records    uint32 // flow records sent (v5 and IPFIX sequence numbers)
	samples    uint64 // sFlow samples, special ones included
	pending    []Flow // egress twins of records = "both"
	tmpl4      Template
	tmpl6      Template
	optTmpl    OptionsTemplate
	optRecord  OptionsRecord
	v5Sampling uint16
}

// Generator produces a scenario's datagrams one at a time and keeps the
// truth of what it produced. It is not safe for concurrent use.
type Generator struct {
	opts      Options
	rng       *rand.Rand
	exps      []*exporterState
	asns      []uint32 // remote ASNs, the first ones most used
	asns2     []uint32 // the 2-byte ones, for v5
	truth     *truthAcc
	turn      int
	start     time.Time
	uptimeMS  uint32
	datagrams uint64
}

// NewGenerator builds the scenario of opts.
func NewGenerator(opts Options) (*Generator, error) {
	switch {
	case opts.Exporters < 1 || opts.Exporters > 100:
		return nil, fmt.Errorf("exporters: %d, want 1..100", opts.Exporters)
	case opts.Interfaces < 1 || opts.Interfaces > 1000:
		return nil, fmt.Errorf("interfaces: %d, want 1..1000", opts.Interfaces)
	case opts.ASNs < 1:
		return nil, fmt.Errorf("asns: %d, want at least 1", opts.ASNs)
	case len(opts.Protocols) == 0:
		return nil, errors.New("protocols: none")
	case opts.SamplingRate < 1:
		return nil, errors.New("sampling rate: want at least 1")
	case opts.RecordsPerPacket < 1 || opts.RecordsPerPacket > 200: // 200 sFlow samples stay below 64 KiB
		return nil, fmt.Errorf("records per packet: %d, want 1..200", opts.RecordsPerPacket)
	case opts.TemplateEvery < 1:
		return nil, fmt.Errorf("template every: %d, want at least 1", opts.TemplateEvery)
	case opts.Malformed < 0 || opts.Malformed >= 1:
		return nil, fmt.Errorf("malformed: %v, want [0,1)", opts.Malformed)
	case opts.NoRateExporter >= opts.Exporters:
		return nil, fmt.Errorf("no-rate exporter %d: only %d exporters", opts.NoRateExporter, opts.Exporters)
	}
	g := &Generator{
		opts:  opts,
		rng:   rand.New(rand.NewPCG(uint64(opts.Seed), 0x6c61737466)),
		truth: newTruthAcc(),
		start: opts.Start,
	}
	if g.start.IsZero() {
		g.start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	g.uptimeMS = 86_400_000
	g.makeASNs()
	count := map[string]int{}
	decoyDone, bothDone, sflowSrcDone := false, false, false
	domainDone := map[string]bool{}
	for i := range opts.Exporters {
		proto := opts.Protocols[i%len(opts.Protocols)]
		nth := count[proto]
		count[proto]++
		addr := netip.AddrFrom4([4]byte{127, 0, 0, byte(10 + i)})
		e := &exporterState{Exporter: Exporter{
			Index:    i,
			Name:     fmt.Sprintf("gen%d", i),
			Address:  addr,
			Source:   addr,
			Protocol: proto,
		}}
		for k := 1; k <= opts.Interfaces; k++ {
			e.Interfaces = append(e.Interfaces, Interface{
				IfIndex: uint32(k), Name: fmt.Sprintf("if%d", k), Role: roles[(k-1)%len(roles)],
			})
		}
		e.Undeclared = []uint32{99, 98}
		if opts.Interfaces >= 98 {
			e.Undeclared = []uint32{uint32(opts.Interfaces) + 1, uint32(opts.Interfaces) + 2}
		}
		if i%2 == 0 {
			e.LocalASN = ownASNBase + uint32(i)
		}
		rate := opts.SamplingRate
		if i == opts.NoRateExporter {
			if proto == ProtoSFlow {
				return nil, fmt.Errorf("no-rate exporter %d speaks sFlow, which always announces a rate", i)
			}
			rate = 0
			// Twice the announced rate, so that applying another exporter's
			// rate shows.
			e.ConfiguredRate = 2 * opts.SamplingRate
		}
		e.AnnouncedRate = rate
		switch proto {
		case ProtoV5:
			e.RateStyle = RateV5Header
			var err error
			if e.v5Sampling, err = V5Sampling(rate); err != nil {
				return nil, fmt.Errorf("exporter %s: %w", e.Name, err)
			}
		case ProtoV9, ProtoIPFIX:
			ipfix := proto == ProtoIPFIX
			if !domainDone[proto] {
				domainDone[proto] = true
				e.DomainID = 256 + uint32(i)
			}
			if !bothDone && ipfix || !bothDone && !slices.Contains(opts.Protocols, ProtoIPFIX) {
				bothDone = true
				e.RecordsBoth = true
			}
			e.tmpl4 = FlowTemplate(256, ipfix, false, e.RecordsBoth)
			e.tmpl6 = FlowTemplate(257, ipfix, true, e.RecordsBoth)
			version := uint16(9)
			if ipfix {
				version = 10
			}
			e.optTmpl, e.optRecord, e.RateStyle = samplingOptions(version, nth, e.Address, e.DomainID, rate)
			if rate != 0 && ipfix && !decoyDone {
				// A sampling_rate the announced rate must win over.
				decoyDone = true
				e.ConfiguredRate = max(2, opts.SamplingRate/10)
			}
		case ProtoSFlow:
			e.RateStyle = RateSFlowSample
			if !sflowSrcDone && opts.SFlowSource.IsValid() {
				sflowSrcDone = true
				e.Source = opts.SFlowSource
			}
		default:
			return nil, fmt.Errorf("protocol %q: want v5, v9, ipfix or sflow", proto)
		}
		if rate == 0 {
			e.RateStyle = RateNone
		}
		e.stats = TruthExporter{Name: e.Name, Address: e.Address, Source: e.Source, Protocol: proto, SamplingRate: e.Rate()}
		g.exps = append(g.exps, e)
	}
	return g, nil
}

// samplingOptions is the options template and record announcing rate: v9
// alternates fields 34 and 50 (scope System), IPFIX alternates 305/306 and
// 34 (scope observationDomainId). rate 0: none.
func samplingOptions(version uint16, nth int, addr netip.Addr, domain, rate uint32) (OptionsTemplate, OptionsRecord, string) {
	if rate == 0 {
		return OptionsTemplate{}, OptionsRecord{}, RateNone
	}
	a4 := addr.As4()
	sys := uint64(a4[0])<<24 | uint64(a4[1])<<16 | uint64(a4[2])<<8 | uint64(a4[3])
	t := OptionsTemplate{ID: 258}
	var r OptionsRecord
	var style string
	if version == 9 {
		t.Scopes = []Field{{ScopeSystem, 4}}
		r.Scopes = []uint64{sys}
		if nth%2 == 0 {
			t.Options, style = []Field{{FieldSamplingInterval, 4}}, RateOption34
		} else {
			t.Options, style = []Field{{FieldSamplerRandomInterv, 4}}, RateOption50
		}
		r.Options = []uint64{uint64(rate)}
		return t, r, style
	}
	t.Scopes = []Field{{FieldObservationDomainID, 4}}
	r.Scopes = []uint64{uint64(domain)}
	if nth%2 == 0 {
		t.Options = []Field{{FieldSamplingPacketInt, 4}, {FieldSamplingPacketSpace, 4}}
		r.Options = []uint64{1, uint64(rate) - 1}
		style = RateOption305
	} else {
		t.Options, style = []Field{{FieldSamplingInterval, 4}}, RateOption34
		r.Options = []uint64{uint64(rate)}
	}
	return t, r, style
}

// wellKnownASNs are real, large networks.
var wellKnownASNs = []uint32{13335, 15169, 16509, 8075, 32934, 20940, 3320, 174, 6939, 2914, 1299, 3356, 6453, 3257, 9002, 6830, 24940, 13030, 8220, 714}

func (g *Generator) makeASNs() {
	seen := map[uint32]bool{0: true, 23456: true}
	for k := range 4 {
		seen[customerASNBase+uint32(k)] = true
	}
	for i := range 101 {
		seen[ownASNBase+uint32(i)] = true
	}
	// Well-known networks first: the biggest senders in a scenario are then
	// ASNs that the sample AS-name data (examples/asnames) knows.
	for _, as := range wellKnownASNs {
		if len(g.asns) < g.opts.ASNs {
			seen[as] = true
			g.asns = append(g.asns, as)
			g.asns2 = append(g.asns2, as)
		}
	}
	for len(g.asns) < g.opts.ASNs {
		var as uint32
		if len(g.asns)%5 == 4 {
			as = 131072 + g.rng.Uint32N(4_199_999_999-131072)
		} else {
			as = 1 + g.rng.Uint32N(64000)
		}
		if seen[as] {
			continue
		}
		seen[as] = true
		g.asns = append(g.asns, as)
		if as <= 0xffff {
			g.asns2 = append(g.asns2, as)
		}
	}
}

// Exporters returns the scenario's exporters.
func (g *Generator) Exporters() []Exporter {
	out := make([]Exporter, len(g.exps))
	for i, e := range g.exps {
		out[i] = e.Exporter
	}
	return out
}

// Truth is the truth of every datagram produced so far.
func (g *Generator) Truth() *Truth { return g.truth.snapshot(g.opts.Seed, g.exps) }

// remoteASN picks a remote ASN, skewed so that a few ASNs carry most flows.
func (g *Generator) remoteASN(e *exporterState) uint32 {
	pool := g.asns
	if e.Protocol == ProtoV5 {
		pool = g.asns2
	}
	u := g.rng.Float64()
	return pool[int(u*u*float64(len(pool)))]
}

// localASN is 0 half the time (routers export 0 for local prefixes), else
// the exporter's own ASN or a customer's.
func (g *Generator) localASN(e *exporterState) uint32 {
	switch g.rng.IntN(4) {
	case 0, 1:
		return 0
	case 2:
		return ownASNBase + uint32(e.Index)
	}
	return customerASNBase + g.rng.Uint32N(4)
}

func (g *Generator) pickIf(e *exporterState) uint32 {
	if g.rng.IntN(5) == 0 {
		return e.Undeclared[g.rng.IntN(len(e.Undeclared))]
	}
	return e.Interfaces[g.rng.IntN(len(e.Interfaces))].IfIndex
}

func (g *Generator) remoteAddr(v6 bool) netip.Addr {
	if v6 {
		var b [16]byte
		b[0], b[1] = 0x2a, byte(g.rng.IntN(16))
		for i := 2; i < 16; i++ {
			b[i] = byte(g.rng.UintN(256))
		}
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte{byte(11 + g.rng.IntN(180)), byte(g.rng.UintN(256)), byte(g.rng.UintN(256)), byte(1 + g.rng.IntN(254))})
}

func (g *Generator) localAddr(v6 bool) netip.Addr {
	if v6 {
		b := [16]byte{0x20, 0x01, 0x0d, 0xb8}
		b[14], b[15] = byte(g.rng.UintN(256)), byte(1+g.rng.IntN(254))
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + g.rng.IntN(254))})
}

// genFlow makes one random IP flow of e.
func (g *Generator) genFlow(e *exporterState) Flow {
	r := g.rng
	v6 := e.Protocol != ProtoV5 && r.IntN(10) < 3
	f := Flow{Proto: 6, SrcPort: uint16(1024 + r.IntN(60000)), DstPort: 443}
	if r.IntN(4) == 0 {
		f.Proto, f.DstPort = 17, 53
	}
	f.InIf = g.pickIf(e)
	for f.OutIf = g.pickIf(e); f.OutIf == f.InIf; f.OutIf = g.pickIf(e) {
	}
	remote, local := g.remoteAddr(v6), g.localAddr(v6)
	switch r.IntN(3) {
	case 0: // towards us
		f.SrcAddr, f.DstAddr = remote, local
		f.SrcAS, f.DstAS = g.remoteASN(e), g.localASN(e)
	case 1: // from us
		f.SrcAddr, f.DstAddr = local, remote
		f.SrcAS, f.DstAS = g.localASN(e), g.remoteASN(e)
	default: // transit
		f.SrcAddr, f.DstAddr = remote, g.remoteAddr(v6)
		f.SrcAS, f.DstAS = g.remoteASN(e), g.remoteASN(e)
	}
	minLen := 40
	if v6 {
		minLen = 60
	}
	if e.Protocol == ProtoSFlow {
		f.Packets = 1
		f.Bytes = uint64(minLen + r.IntN(1500-minLen+1))
	} else {
		f.Packets = uint64(1 + r.IntN(64))
		f.Bytes = f.Packets * uint64(minLen+r.IntN(1500-minLen+1))
	}
	return f
}

// nextRecords returns n records of e: for a records = "both" exporter every
// flow becomes an ingress record followed by its egress twin.
func (g *Generator) nextRecords(e *exporterState, n int) []Flow {
	out := make([]Flow, 0, n)
	for len(out) < n {
		if len(e.pending) > 0 {
			out = append(out, e.pending[0])
			e.pending = e.pending[1:]
			continue
		}
		f := g.genFlow(e)
		if e.RecordsBoth {
			twin := f
			twin.Egress = true
			e.pending = append(e.pending, twin)
		}
		out = append(out, f)
	}
	return out
}

func (g *Generator) clock() (secs, nsecs, uptime uint32) {
	t := g.start.Add(time.Duration(g.datagrams) * time.Millisecond)
	return uint32(t.Unix()), uint32(t.Nanosecond()), g.uptimeMS + uint32(g.datagrams)
}

// Next produces the next datagram, from the exporters in turn, with at most
// maxRecords flow records (maxRecords < 1: the scenario's records per packet).
func (g *Generator) Next(maxRecords int) (Datagram, error) {
	e := g.exps[g.turn%len(g.exps)]
	g.turn++
	g.datagrams++
	n := g.opts.RecordsPerPacket
	if maxRecords > 0 && maxRecords < n {
		n = maxRecords
	}
	if e.Protocol == ProtoV5 {
		n = min(n, 30)
	}
	d := Datagram{Exporter: e.Index, Src: e.Source, Target: TargetNetFlow}
	if e.Protocol == ProtoSFlow {
		d.Target = TargetSFlow
	}
	if g.opts.Malformed > 0 && g.rng.Float64() < g.opts.Malformed {
		kind, payload, err := g.malformed(e)
		if err != nil {
			return d, fmt.Errorf("exporter %s: malformed datagram: %w", e.Name, err)
		}
		d.Payload, d.Malformed = payload, kind
		e.stats.MalformedSent++
		if e.stats.Malformed == nil {
			e.stats.Malformed = map[string]uint64{}
		}
		e.stats.Malformed[kind]++
		return d, nil
	}
	var flows []Flow
	var err error
	switch e.Protocol {
	case ProtoV5:
		flows = g.nextRecords(e, n)
		d.Payload, err = g.encodeV5(e, flows)
	case ProtoV9, ProtoIPFIX:
		flows = g.nextRecords(e, n)
		d.Payload, err = g.encodeNF(e, flows, e.packets%uint64(g.opts.TemplateEvery) == 0)
	case ProtoSFlow:
		flows = g.sflowRecords(e, n)
		d.Payload, err = g.encodeSFlow(e, flows)
	}
	if err != nil {
		return d, fmt.Errorf("exporter %s: %w", e.Name, err)
	}
	// Commit: the datagram is valid and everything in it counts.
	e.packets++
	e.records += uint32(len(flows))
	e.stats.PacketsSent++
	for i := range flows {
		g.truth.count(e, &flows[i])
		if flows[i].IPVersion() != 0 {
			d.Flows++
		}
	}
	return d, nil
}

func (g *Generator) encodeV5(e *exporterState, flows []Flow) ([]byte, error) {
	secs, nsecs, up := g.clock()
	return EncodeV5(nil, V5Header{
		SysUptime: up, UnixSecs: secs, UnixNsecs: nsecs, FlowSequence: e.records,
		EngineID: byte(e.Index), SamplingInterval: e.v5Sampling,
	}, flows)
}

// encodeNF encodes a v9 or IPFIX packet: templates and sampling options
// first when withTemplates, then a data set per IP version.
func (g *Generator) encodeNF(e *exporterState, flows []Flow, withTemplates bool) ([]byte, error) {
	version := uint16(9)
	if e.Protocol == ProtoIPFIX {
		version = 10
	}
	var sets []Set
	if withTemplates {
		sets = append(sets, TemplateSet(version, e.tmpl4, e.tmpl6))
		if e.AnnouncedRate != 0 {
			sets = append(sets, OptionsTemplateSet(version, e.optTmpl))
			s, err := OptionsDataSet(version, e.optTmpl, e.optRecord)
			if err != nil {
				return nil, err
			}
			sets = append(sets, s)
		}
	}
	var v4, v6 []Flow
	for _, f := range flows {
		if f.IPVersion() == 6 {
			v6 = append(v6, f)
		} else {
			v4 = append(v4, f)
		}
	}
	for _, part := range []struct {
		t  Template
		fs []Flow
	}{{e.tmpl4, v4}, {e.tmpl6, v6}} {
		if len(part.fs) == 0 {
			continue
		}
		s, err := DataSet(version, part.t, part.fs)
		if err != nil {
			return nil, err
		}
		sets = append(sets, s)
	}
	secs, _, up := g.clock()
	if version == 9 {
		return EncodeV9(nil, V9Header{SysUptime: up, UnixSecs: secs, Sequence: uint32(e.packets), SourceID: e.DomainID}, sets...), nil
	}
	return EncodeIPFIX(nil, IPFIXHeader{ExportTime: secs, Sequence: e.records, ObservationDomainID: e.DomainID}, sets...)
}

// sflowRecords returns n samples of e. Some are special, at fixed places so
// that every run has them: an input that is not an ifIndex (several
// interfaces), an output that is not one (discarded), an ARP frame.
func (g *Generator) sflowRecords(e *exporterState, n int) []Flow {
	out := make([]Flow, 0, n)
	for range n {
		f := g.genFlow(e)
		switch e.samples % 50 {
		case 1, 26:
			f.InIf = SFlowIfMultiple | 2
			f.OutIf = e.Interfaces[g.rng.IntN(len(e.Interfaces))].IfIndex
		case 2, 27:
			f.InIf = e.Interfaces[g.rng.IntN(len(e.Interfaces))].IfIndex
			f.OutIf = SFlowIfDiscarded | 258 // reason: ACL
		case 3, 28:
			f = Flow{Packets: 1, Bytes: 0, InIf: e.Interfaces[0].IfIndex, OutIf: e.Undeclared[0]}
		}
		e.samples++
		out = append(out, f)
	}
	return out
}

func (g *Generator) encodeSFlow(e *exporterState, flows []Flow) ([]byte, error) {
	_, _, up := g.clock()
	d := SFlowDatagram{Agent: e.Address, Sequence: uint32(e.packets) + 1, Uptime: up}
	first := e.samples - uint64(len(flows))
	for i := range flows {
		f := &flows[i]
		seq := first + uint64(i)
		s := SFlowSample{
			Expanded:     seq%2 == 1,
			Sequence:     uint32(seq) + 1,
			SamplingRate: e.AnnouncedRate,
			SamplePool:   uint32((seq + 1) * uint64(e.AnnouncedRate)),
			Input:        f.InIf,
			Output:       f.OutIf,
			Stripped:     4,
		}
		if f.InIf>>30 == 0 {
			s.SourceIDIndex = f.InIf
		}
		var err error
		if f.IPVersion() == 0 {
			s.Header, s.FrameLength, err = ARPFrame(snapLength)
		} else {
			s.Header, s.FrameLength, err = SampledFrame(f, snapLength)
			gw := &SFlowGateway{NextHop: netip.AddrFrom4([4]byte{198, 51, 100, 1}), SrcAS: f.SrcAS, LocalPref: 100}
			if f.DstAS != 0 {
				for range g.rng.IntN(3) {
					gw.DstASPath = append(gw.DstASPath, g.remoteASN(e))
				}
				gw.DstASPath = append(gw.DstASPath, f.DstAS)
			}
			// gw.AS, the router's own AS, stays 0: decoders that fall back to
			// it for an empty path or a zero source AS then agree with ours.
			s.Gateway = gw
		}
		if err != nil {
			return nil, err
		}
		d.Samples = append(d.Samples, s)
	}
	return EncodeSFlow(nil, d)
}

// malformed builds a datagram a collector must reject whole, containing no
// complete record.
func (g *Generator) malformed(e *exporterState) (string, []byte, error) {
	kinds := []string{MalformedTruncated, MalformedBadVersion, MalformedGarbage}
	if e.Protocol == ProtoV9 || e.Protocol == ProtoIPFIX {
		kinds = append(kinds, MalformedUnknownTemplate)
	}
	kind := kinds[g.rng.IntN(len(kinds))]
	if kind == MalformedGarbage {
		b := make([]byte, 1+g.rng.IntN(200))
		for i := range b {
			b[i] = byte(g.rng.UintN(256))
		}
		b[0] = 0xff // never a valid version
		return kind, b, nil
	}
	// A throw-away data packet: its records are not committed.
	flows := []Flow{g.genFlow(e)}
	var b []byte
	var err error
	var cut int
	switch e.Protocol {
	case ProtoV5:
		b, err = EncodeV5(nil, V5Header{SamplingInterval: e.v5Sampling}, flows)
		cut = 24 + 20
	case ProtoV9, ProtoIPFIX:
		if flows[0].IPVersion() == 6 {
			flows[0].SrcAddr, flows[0].DstAddr = g.remoteAddr(false), g.localAddr(false)
		}
		tmpl := e.tmpl4
		if kind == MalformedUnknownTemplate {
			tmpl.ID = 4095 // never defined
		}
		b, err = g.encodeNF(&exporterState{Exporter: e.Exporter, tmpl4: tmpl, tmpl6: e.tmpl6}, flows, false)
		hdr := 20
		if e.Protocol == ProtoIPFIX {
			hdr = 16
		}
		cut = hdr + 4 + tmpl.Size()/2
	case ProtoSFlow:
		b, err = g.encodeSFlow(&exporterState{Exporter: e.Exporter, samples: 1}, flows)
		cut = 28 + 8 + 20
	}
	if err != nil {
		return kind, nil, err
	}
	switch kind {
	case MalformedTruncated:
		b = b[:cut]
	case MalformedBadVersion:
		switch e.Protocol {
		case ProtoV5:
			b[1] = 7
		case ProtoV9:
			b[1] = 8
		case ProtoIPFIX:
			b[1] = 11
		case ProtoSFlow:
			b[3] = 4
		}
	}
	return kind, b, nil
}
