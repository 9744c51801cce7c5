package decode

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lastfluss/lastfluss/core/flowgen"
)

// The fast decoders must emit what the goflow2-based reference decoders
// emit: the same records, exporter and error reason for every datagram, and
// leave the same templates and rates in their store. Deliberate differences
// are listed in fastDifferences (fast_sflow.go documents them).

// outcome is what one decoder made of one datagram.
type outcome struct {
	Records  []Record
	Exporter string
	Reason   string
}

func decodeOutcome(t *testing.T, d Decoder, pkt []byte, src netip.AddrPort) outcome {
	t.Helper()
	recs, exp, err := decodeAll(t, d, pkt, src)
	return outcome{Records: recs, Exporter: exp.String(), Reason: reasonOf(err)}
}

// pair is a reference decoder and a fast one, each with its own store.
type pair struct {
	refStore, fastStore *Templates
	ref, fast           Decoder
}

func netflowPair() *pair {
	p := &pair{refStore: NewTemplates(), fastStore: NewTemplates()}
	p.ref, p.fast = NewNetFlow(p.refStore), NewFastNetFlow(p.fastStore)
	return p
}

func sflowPair() *pair {
	return &pair{ref: NewSFlow(), fast: NewFastSFlow()}
}

// check decodes pkt with both and fails on any difference.
func (p *pair) check(t *testing.T, what string, pkt []byte, src netip.AddrPort) outcome {
	t.Helper()
	want := decodeOutcome(t, p.ref, pkt, src)
	got := decodeOutcome(t, p.fast, pkt, src)
	if fs, ok := p.fast.(*fastSFlow); ok {
		// The one deliberate difference: AS paths of several segments.
		// Read as goflow2 reads them, everything must agree.
		compat := decodeOutcome(t, &fastSFlow{goflow2Paths: true}, pkt, src)
		if diff := cmp.Diff(compat, want); diff != "" {
			t.Fatalf("%s: fast decoder reading paths as goflow2 differs from the reference (-fast +reference):\n%s\npacket: %x", what, diff, pkt)
		}
		if fs.multiSegment {
			return got
		}
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Fatalf("%s: fast decoder differs from the reference (-fast +reference):\n%s\npacket: %x", what, diff, pkt)
	}
	p.checkStores(t, what)
	return got
}

func (p *pair) checkStores(t *testing.T, what string) {
	t.Helper()
	if p.refStore == nil {
		return
	}
	want, _ := json.Marshal(p.refStore.snapshot())
	got, _ := json.Marshal(p.fastStore.snapshot())
	if string(got) != string(want) {
		t.Fatalf("%s: stores differ:\nfast:      %s\nreference: %s", what, got, want)
	}
}

// scenarioOptions are the flowgen runs compared: every protocol, with and
// without rates, malformed datagrams, templates re-sent often or rarely.
func scenarioOptions() []flowgen.Options {
	var out []flowgen.Options
	for seed := int64(1); seed <= 4; seed++ {
		o := flowgen.DefaultOptions()
		o.Seed, o.Flows, o.Malformed = seed, 6000, 0.05
		o.NoRateExporter = int(seed) % 3
		o.Exporters = 4 + int(seed)
		o.TemplateEvery = []int{1, 5, 20, 200}[seed-1]
		o.RecordsPerPacket = []int{1, 7, 24, 30}[seed-1]
		out = append(out, o)
	}
	o := flowgen.DefaultOptions()
	o.Seed, o.Flows, o.Protocols = 9, 4000, []string{flowgen.ProtoIPFIX, flowgen.ProtoV9}
	o.SamplingRate, o.RecordsPerPacket = 1, 200
	return append(out, o)
}

func TestFastDecodersMatchReferenceOnScenarios(t *testing.T) {
	for _, o := range scenarioOptions() {
		t.Run(fmt.Sprintf("seed%d", o.Seed), func(t *testing.T) {
			s, err := flowgen.Generate(o)
			if err != nil {
				t.Fatal(err)
			}
			nf, sf := netflowPair(), sflowPair()
			records := 0
			for i, d := range s.Datagrams {
				p := nf
				if d.Target == flowgen.TargetSFlow {
					p = sf
				}
				got := p.check(t, fmt.Sprintf("datagram %d (%s)", i, d.Malformed), d.Payload, netip.AddrPortFrom(d.Src, 40000))
				records += len(got.Records)
			}
			if records == 0 {
				t.Fatal("no records decoded")
			}
		})
	}
}

// handMade are sequences of datagrams decoded in order by one pair, built
// as the reference decoder's own tests build them.
func handMadeNetFlow() map[string][][]byte {
	data := []field{f(1, 4), f(2, 4), f(10, 4)}
	withSampler := []field{f(1, 4), f(2, 4), f(10, 4), f(48, 1)}
	withSelector := []field{f(1, 4), f(2, 4), f(10, 4), f(302, 4)}
	seqs := map[string][][]byte{}
	for _, v := range []uint16{9, 10} {
		pre := fmt.Sprintf("v%d/", v)
		tmpls := message(v, 3, templateSet(v, 256, data...), templateSet(v, 257, withSampler...), templateSet(v, 258, withSelector...))
		for name, fields := range map[string][]field{
			"v4":            v4Fields,
			"v6":            v6Fields,
			"ipversion":     {f(1, 4), f(2, 4), f(60, 1), f(8, 4), f(27, 16)},
			"both families": {f(1, 4), f(2, 4), f(8, 4), f(27, 16)},
			"fallbacks":     {f(23, 4), f(24, 4), f(252, 4), f(253, 4), f(10, 4), f(14, 2)},
			"totals":        {f(85, 8), f(86, 8), f(16, 8), f(17, 3)},
			"odd lengths":   {f(1, 3), f(2, 5), f(10, 1), f(14, 6), f(16, 12), f(61, 2), f(34, 9)},
			"duplicates":    {f(1, 4), f(1, 4), f(8, 4), f(12, 4), f(61, 1), f(61, 1), f(2, 2)},
			"in-record 305": {f(1, 4), f(2, 4), f(305, 4), f(306, 4), f(50, 4)},
			"in-record 50":  {f(1, 4), f(2, 4), f(50, 2), f(48, 1)},
		} {
			vals := make([][]uint64, 4)
			for i := range vals {
				for j := range fields {
					vals[i] = append(vals[i], uint64((i+1)*(j+3)*0x01010101)%(1<<uint(min(8*fields[j].Length, 63))))
				}
			}
			vals[3] = make([]uint64, len(fields)) // all zero
			seqs[pre+name] = [][]byte{
				message(v, 1, templateSet(v, 300, fields...), dataSet(300, fields, vals...)),
				message(v, 1, dataSet(300, fields, vals...), templateSet(v, 300, fields...), dataSet(300, fields, vals[:1]...)),
			}
		}
		seqs[pre+"sampling"] = [][]byte{tmpls,
			message(v, 3, dataSet(256, data, []uint64{100, 1, 5})),
			message(v, 3, optionsTemplateSet(v, 400, []field{f(1, 4)}, []field{f(48, 1), f(49, 1), f(50, 4)}),
				dataSet(400, []field{f(1, 4), f(48, 1), f(49, 1), f(50, 4)}, []uint64{0, 1, 2, 100}, []uint64{0, 2, 2, 4000})),
			message(v, 3, dataSet(256, data, []uint64{100, 1, 5}), dataSet(257, withSampler, []uint64{100, 1, 5, 2}, []uint64{1, 1, 1, 9}, []uint64{1, 1, 1, 1})),
			message(v, 3, optionsTemplateSet(v, 401, []field{f(1, 4)}, []field{f(34, 4)}), dataSet(401, []field{f(1, 4), f(34, 4)}, []uint64{0, 10})),
			message(v, 3, dataSet(256, data, []uint64{100, 1, 5}), dataSet(257, withSampler, []uint64{100, 1, 5, 2}, []uint64{1, 1, 1, 9})),
			message(v, 3, optionsTemplateSet(v, 402, []field{f(302, 4)}, []field{f(305, 4), f(306, 4)}),
				dataSet(402, []field{f(302, 4), f(305, 4), f(306, 4)}, []uint64{7, 1, 99}, []uint64{8, 3, 1000}, []uint64{9, 0, 5})),
			message(v, 3, dataSet(258, withSelector, []uint64{100, 1, 5, 8}, []uint64{100, 1, 5, 7}, []uint64{100, 1, 5, 6})),
			message(v, 4, templateSet(v, 256, data...), optionsTemplateSet(v, 400, []field{f(1, 4)}, []field{f(48, 2), f(50, 4)}),
				dataSet(256, data, []uint64{100, 1, 5}), dataSet(400, []field{f(1, 4), f(48, 2), f(50, 4)}, []uint64{0, 1, 300})),
		}
		seqs[pre+"withdrawal"] = [][]byte{
			message(v, 0, templateSet(v, 256, f(1, 4), f(2, 4)), templateSet(v, 257, f(1, 4))),
			message(v, 0, templateSet(v, 256, f(2, 4), f(1, 8)), dataSet(256, []field{f(2, 4), f(1, 8)}, []uint64{3, 5000})),
			message(v, 0, templateSet(v, 256), dataSet(256, []field{f(2, 4), f(1, 8)}, []uint64{3, 5000}), dataSet(257, []field{f(1, 4)}, []uint64{3})),
			message(v, 0, templateSet(v, 2), dataSet(257, []field{f(1, 4)}, []uint64{3})),
			message(v, 0, optionsTemplateSet(v, 400, []field{f(149, 4)}, []field{f(34, 4)}), optionsTemplateSet(v, 3, nil, nil)),
			message(v, 0, set(0, []byte{0, 0, 0, 0}), set(2, []byte{0, 0, 0, 0})),
		}
		seqs[pre+"unknown among known"] = [][]byte{message(v, 0,
			templateSet(v, 256, f(1, 4), f(2, 4)),
			dataSet(256, []field{f(1, 4), f(2, 4)}, []uint64{10, 1}),
			dataSet(999, []field{f(1, 4), f(2, 4)}, []uint64{20, 2}),
			dataSet(256, []field{f(1, 4), f(2, 4)}, []uint64{30, 3}))}
		seqs[pre+"options data before its template"] = [][]byte{message(v, 0,
			dataSet(400, []field{f(1, 4), f(34, 4)}, []uint64{0, 100}),
			optionsTemplateSet(v, 400, []field{f(1, 4)}, []field{f(34, 4)}),
			templateSet(v, 256, f(1, 4), f(2, 4)),
			dataSet(256, []field{f(1, 4), f(2, 4)}, []uint64{10, 1}))}
		// A template refused in the middle of a datagram: what came before
		// counts.
		seqs[pre+"refused template"] = [][]byte{message(v, 0,
			templateSet(v, 256, f(1, 4), f(2, 4)),
			dataSet(256, []field{f(1, 4), f(2, 4)}, []uint64{10, 1}),
			templateSet(v, 17, f(1, 4)),
			dataSet(256, []field{f(1, 4), f(2, 4)}, []uint64{30, 3}))}
		seqs[pre+"variable length"] = [][]byte{
			message(v, 0, templateSet(v, 260, f(1, 4), f(82, 0xffff), f(2, 2)),
				set(260, append([]byte{0, 0, 1, 0, 3, 'a', 'b', 'c', 0, 7, 0, 0, 0, 40, 0xff, 1, 44}, append(make([]byte, 300), 0, 1)...))),
			// cut inside a variable-length value; then a length prefix cut
			message(v, 0, set(260, []byte{0, 0, 1, 0, 9, 'a', 'b'}), dataSet(256, []field{f(1, 4)}, []uint64{1})),
			message(v, 0, set(260, []byte{0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0xff, 1})),
			// only variable-length fields: goflow2 always runs past the end
			message(v, 0, templateSet(v, 261, f(82, 0xffff)), set(261, []byte{1, 'x'})),
			message(v, 0, optionsTemplateSet(v, 402, []field{f(82, 0xffff)}, []field{f(34, 4)}),
				set(402, []byte{2, 'a', 'b', 0, 0, 0, 100, 1})),
			message(v, 0, optionsTemplateSet(v, 403, []field{f(1, 4)}, []field{f(82, 0xffff), f(34, 4)}),
				set(403, []byte{0, 0, 0, 0, 9, 'a', 'b', 0, 0, 0, 100})),
		}
	}
	seqs["v5"] = [][]byte{
		encodeV5(0x4000|100, -1, v5Rec{In: 531, Out: 7, Pkts: 3, Octets: 4500, SrcAS: 174, DstAS: 64500}, v5Rec{In: 9, Out: 612, Pkts: 1, Octets: 60}),
		encodeV5(0, 3, v5Rec{Octets: 1, Pkts: 1}),
		encodeV5(0, -1)[:20],
	}
	seqs["ipfix enterprise fields"] = [][]byte{func() []byte {
		fields := []field{{Type: 1, Length: 4, PEN: 9}, f(1, 4), {Type: 2, Length: 4, PEN: 29305}, f(2, 2)}
		return message(10, 0, templateSet(10, 256, fields...), dataSet(256, fields, []uint64{999, 100, 888, 2}))
	}()}
	seqs["ipfix options enterprise scope"] = [][]byte{message(10, 0,
		optionsTemplateSet(10, 400, []field{{Type: 302, Length: 4, PEN: 9}}, []field{f(34, 4), {Type: 34, Length: 4, PEN: 9}}),
		dataSet(400, []field{f(302, 4), f(34, 4), f(34, 4)}, []uint64{3, 50, 70}),
		templateSet(10, 256, f(1, 4), f(302, 4)),
		dataSet(256, []field{f(1, 4), f(302, 4)}, []uint64{10, 3}))}
	seqs["ipfix length beyond datagram"] = [][]byte{func() []byte {
		p := message(10, 0, templateSet(10, 256, f(1, 4), f(2, 4)), dataSet(256, []field{f(1, 4), f(2, 4)}, []uint64{10, 1}))
		return p[:len(p)-4]
	}()}
	for _, s := range netflowSeeds() {
		seqs["seed "+s.name] = [][]byte{s.pkt}
	}
	return seqs
}

func TestFastNetFlowMatchesReferenceHandMade(t *testing.T) {
	for name, seq := range handMadeNetFlow() {
		t.Run(name, func(t *testing.T) {
			p := netflowPair()
			for i, pkt := range seq {
				p.check(t, fmt.Sprintf("datagram %d", i), pkt, srcA)
				// IPv4-mapped source, another port: the same exporter.
				p.check(t, fmt.Sprintf("datagram %d again", i), pkt, netip.AddrPortFrom(netip.MustParseAddr("::ffff:192.0.2.1"), 2055))
			}
		})
	}
}

// The fast decoder learns into the store the reference reads, and the other
// way round; templates restored from a file decode at once.
func TestFastNetFlowSharesStore(t *testing.T) {
	store := NewTemplates()
	fast, ref := NewFastNetFlow(store), NewNetFlow(store)
	fields := []field{f(1, 4), f(2, 4), f(10, 4), f(48, 1)}
	mustDecode(t, fast, message(9, 3, templateSet(9, 256, fields...),
		optionsTemplateSet(9, 400, []field{f(1, 4)}, []field{f(48, 1), f(50, 4)}),
		dataSet(400, []field{f(1, 4), f(48, 1), f(50, 4)}, []uint64{0, 1, 100})), srcA)
	mustDecode(t, ref, message(10, 8, templateSet(10, 300, fields...)), srcA)
	data9 := message(9, 3, dataSet(256, fields, []uint64{1500, 2, 531, 1}))
	data10 := message(10, 8, dataSet(300, fields, []uint64{1500, 2, 531, 1}))
	want := []Record{{Bytes: 1500, Packets: 2, InIf: 531, SamplingRate: 100}}
	for name, d := range map[string]Decoder{"fast": fast, "reference": ref} {
		if diff := cmp.Diff(mustDecode(t, d, data9, srcA), want); diff != "" {
			t.Errorf("%s, v9 (-got +want):\n%s", name, diff)
		}
		if diff := cmp.Diff(mustDecode(t, d, data10, srcA), []Record{{Bytes: 1500, Packets: 2, InIf: 531}}); diff != "" {
			t.Errorf("%s, ipfix (-got +want):\n%s", name, diff)
		}
	}
	data, err := json.Marshal(store.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	restored := NewTemplates()
	if err := restored.restore(data); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(mustDecode(t, NewFastNetFlow(restored), data9, srcA), want); diff != "" {
		t.Errorf("restored (-got +want):\n%s", diff)
	}
	// A refresh of a known template writes nothing, from either decoder.
	gen := store.Generation()
	mustDecode(t, fast, message(10, 8, templateSet(10, 300, fields...)), srcA)
	mustDecode(t, fast, message(9, 3, templateSet(9, 256, fields...)), srcA)
	if store.Generation() != gen {
		t.Errorf("refreshing identical templates changed the store")
	}
	// Refreshes are told from the wire octets, enterprise fields and
	// options templates included, without decoding them again.
	refresh := message(10, 8,
		templateSet(10, 301, f(1, 8), field{Type: 5, Length: 2, PEN: 2636}, f(2, 4)),
		optionsTemplateSet(10, 500, []field{{Type: 302, Length: 4, PEN: 9}}, []field{f(305, 4), f(306, 4)}))
	mustDecode(t, fast, refresh, srcA)
	gen = store.Generation()
	noop := func(*Record) {}
	if allocs := testing.AllocsPerRun(10, func() { fast.Decode(refresh, srcA, noop) }); allocs != 0 {
		t.Errorf("a template refresh allocates %v times", allocs)
	}
	if store.Generation() != gen {
		t.Errorf("refreshing identical templates changed the store")
	}
}

func TestFastNetFlowNoAllocations(t *testing.T) {
	tmpl, data := benchPackets()
	options := message(9, 0,
		optionsTemplateSet(9, 400, []field{f(1, 4)}, []field{f(48, 1), f(49, 1), f(50, 4)}),
		dataSet(400, []field{f(1, 4), f(48, 1), f(49, 1), f(50, 4)}, []uint64{0, 1, 2, 100}, []uint64{0, 2, 2, 4000}))
	d := NewFastNetFlow(NewTemplates())
	n := 0
	emit := func(*Record) { n++ }
	for _, pkt := range [][]byte{tmpl, options} {
		if _, err := d.Decode(pkt, srcA, emit); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := d.Decode(data, srcA, emit); err != nil {
			t.Fatal(err)
		}
		// Template and sampling option refreshes cost nothing either.
		if _, err := d.Decode(tmpl, srcA, emit); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decode(options, srcA, emit); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per datagram, want 0", allocs)
	}
	if n != 101*benchRecords {
		t.Errorf("emitted %d records, want %d", n, 101*benchRecords)
	}
}

// handMadeSFlow are the sFlow datagrams of the reference's tests and more:
// every record type goflow2 decodes, whole and cut.
func handMadeSFlow() []seed {
	v4 := sfRawHeader(1518, 4, ethIPv4(1500, 100))
	gw := sfGateway(174, 3320, 64501)
	sampledIPv4 := sfRecord(3, append(be32(nil, 1400), make([]byte, 28)...))
	sampledIPv6 := sfRecord(4, append(be32(nil, 1300), make([]byte, 52)...))
	acl := sfRecord(1037, append(append(be32(nil, 7), append(be32(nil, 3), 'a', 'c', 'l')...), be32(nil, 1)...))
	router := sfRecord(1002, append(append(be32(nil, 2), make([]byte, 16)...), 0, 0, 0, 24, 0, 0, 0, 24))
	mpls := append(ethHeader(0x8847), 0, 1, 0x01, 64, 0x45, 0, 0x05, 0xdc)
	ipv4Proto := func(n uint16) []byte {
		b := be32(nil, 11) // header protocol: IPv4
		b = be32(b, uint32(n)+4)
		b = be32(b, 4)
		h := append([]byte{0x45, 0}, be16(nil, n)...)
		b = be32(b, uint32(len(h)))
		return sfRecord(1, append(b, h...))
	}
	cut := func(r []byte, n int) []byte { // a record whose body is cut to n octets
		b := append([]byte(nil), r[:8+n]...)
		binary.BigEndian.PutUint32(b[4:], uint32(n))
		return b
	}
	multiSegment := sfGatewaySegments(174, []uint32{3320}, []uint32{64501})
	var seeds []seed
	add := func(name string, samples ...[]byte) {
		seeds = append(seeds, seed{"hand-" + strings.ReplaceAll(name, " ", "-"), sfDatagram(agentA, samples...)})
	}
	add("gateway", sfFlowSample(1000, 531, 7, v4, gw))
	add("vlan qinq ipv6", sfFlowSample(1, 1, 2, sfRawHeader(1000, 4, ethIPv4(974, 100, 200))), sfFlowSample(100, 1, 2, sfRawHeader(1000, 4, ethIPv6(1000))))
	add("cut ipv4 header", sfFlowSample(100, 1, 2, sfRawHeader(1518, 4, ethIPv4(1500)[:16])))
	add("gateway without path", sfFlowSample(100, 1, 2, sfRawHeader(100, 4, ethIPv4(60)), sfGateway(174)))
	add("two gateways", sfFlowSample(100, 1, 2, gw, sfRawHeader(100, 4, ethIPv4(60)), sfGateway(175)))
	add("multi-segment path", sfFlowSample(100, 1, 2, v4, multiSegment))
	add("arp", sfFlowSample(100, 1, 2, sfRawHeader(64, 4, ethARP())))
	add("counters", sfCounterSample(), sfFlowSample(100, 1, 2, v4), sfCounterSample())
	add("format bits", sfFlowSample(100, 0x80000002, 0x40000001, v4), sfFlowSample(100, 5, 0x3fffffff, v4))
	add("expanded", sfExpandedSample(4096, 0, 70000, 0, 80000, v4, gw), sfExpandedSample(4096, 2, 3, 1, 1, v4))
	add("sampled ip records", sfFlowSample(10, 1, 2, sampledIPv4, v4), sfFlowSample(10, 1, 2, sampledIPv6), sfFlowSample(10, 1, 2, sampledIPv4, sampledIPv6))
	add("other records", sfFlowSample(10, 1, 2, acl, router, sfRecord(1001, make([]byte, 16)), sfRecord(2, make([]byte, 20)),
		sfRecord(1036, make([]byte, 4)), sfRecord(1038, append(be32(nil, 2), 'f', 'n')), sfRecord(9999, nil), v4))
	add("mpls and ip protocol", sfFlowSample(10, 1, 2, sfRawHeader(1518, 4, mpls)), sfFlowSample(10, 1, 2, ipv4Proto(900)))
	add("drop sample", sfSample(5, append(make([]byte, 28), append(be32(nil, 1), v4...)...)), sfFlowSample(10, 1, 2, v4))
	add("expanded counters", sfSample(4, append(make([]byte, 12), be32(nil, 0)...)))
	for _, r := range []struct {
		name string
		rec  []byte
		n    int
	}{
		{"raw", v4, 12}, {"ipv4", sampledIPv4, 31}, {"ipv6", sampledIPv6, 40}, {"gateway", gw, 30},
		{"gateway ip", gw, 6}, {"router", router, 10}, {"acl", acl, 9}, {"switch", sfRecord(1001, make([]byte, 16)), 15},
		{"ethernet", sfRecord(2, make([]byte, 20)), 19}, {"queue", sfRecord(1036, make([]byte, 4)), 3},
	} {
		add("cut "+r.name, sfFlowSample(10, 1, 2, v4), sfFlowSample(10, 1, 2, cut(r.rec, r.n), v4))
	}
	badLen := sfFlowSample(10, 1, 2, v4, gw)
	binary.BigEndian.PutUint32(badLen[8+32+len(v4)+4:], 5000) // gateway longer than the sample
	add("record beyond sample", badLen, sfFlowSample(10, 1, 2, v4))
	return seeds
}

func TestFastSFlowMatchesReferenceHandMade(t *testing.T) {
	p := sflowPair()
	seeds := append(handMadeSFlow(), sflowSeeds()...)
	for _, s := range seeds {
		t.Run(s.name, func(t *testing.T) {
			got := p.check(t, s.name, s.pkt, sflowSrc)
			// Cut anywhere, it must still agree.
			for n := range len(s.pkt) {
				p.check(t, fmt.Sprintf("%s cut to %d", s.name, n), s.pkt[:n], sflowSrc)
			}
			_ = got
		})
	}
}

func TestFastSFlowNoAllocations(t *testing.T) {
	pkt := benchSFlowPacket()
	d := NewFastSFlow()
	n := 0
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := d.Decode(pkt, sflowSrc, func(*Record) { n++ }); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per datagram, want 0", allocs)
	}
	if n == 0 {
		t.Error("no records")
	}
}

func TestFastConcurrentWorkers(t *testing.T) {
	// Fast and reference workers decode while templates of other domains
	// keep changing; run with -race to check the store's publication.
	store := NewTemplates()
	data := []field{f(1, 4), f(2, 4)}
	mustDecode(t, NewFastNetFlow(store), message(10, 0, templateSet(10, 256, data...)), srcA)
	pkt := message(10, 0, dataSet(256, data, []uint64{10, 1}, []uint64{20, 2}))
	var wg sync.WaitGroup
	totals := make([]uint64, 3)
	for w := range totals {
		wg.Go(func() {
			d := NewFastNetFlow(store)
			if w == 2 {
				d = NewNetFlow(store)
			}
			for i := range 2000 {
				if _, err := d.Decode(pkt, srcA, func(r *Record) { totals[w] += r.Bytes }); err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				if i%10 == 0 {
					d.Decode(message(10, uint32(i+1), templateSet(10, 256+uint16(i%50), data...)), srcA, func(*Record) {})
				}
			}
		})
	}
	wg.Wait()
	for w, total := range totals {
		if total != 2000*30 {
			t.Errorf("worker %d counted %d bytes, want %d", w, total, 2000*30)
		}
	}
}

// sfGatewaySegments is an extended gateway record whose AS path has one
// AS_SEQUENCE segment per slice.
func sfGatewaySegments(srcAS uint32, segments ...[]uint32) []byte {
	b := be32(nil, 1)
	b = append(b, 192, 0, 2, 254)
	b = be32(b, 64500)
	b = be32(b, srcAS)
	b = be32(b, srcAS)
	b = be32(b, uint32(len(segments)))
	for _, seg := range segments {
		b = be32(be32(b, 2), uint32(len(seg)))
		for _, as := range seg {
			b = be32(b, as)
		}
	}
	b = be32(b, 0)   // communities
	b = be32(b, 100) // local pref
	return sfRecord(1003, b)
}

// TestFastSFlowDeliberateDifferences is the list of datagrams on which the
// fast decoder deliberately disagrees with the reference, with both
// outcomes.
func TestFastSFlowDeliberateDifferences(t *testing.T) {
	v4 := sfRawHeader(1518, 4, ethIPv4(1500))
	rec := func(dst uint32) []Record {
		return []Record{{Bytes: 1500, Packets: 1, SamplingRate: 10, InIf: 1, OutIf: 2, SrcAS: 174, DstAS: dst, IPVersion: 4}}
	}
	for _, tc := range []struct {
		name            string
		pkt             []byte
		fast, reference outcome
	}{
		{
			// goflow2 takes the first segment's last AS, then reads the
			// second segment's type as the number of communities.
			name: "AS path of two segments: the destination is the last AS of the path",
			pkt:  sfDatagram(agentA, sfFlowSample(10, 1, 2, v4, sfGatewaySegments(174, []uint32{3320}, []uint32{1299, 64501}))),
			fast: outcome{Records: rec(64501), Exporter: agentA.String()}, reference: outcome{Records: rec(3320), Exporter: agentA.String()},
		},
		{
			// An empty last segment: the destination is the last AS there is.
			name: "AS path of three segments, the last empty",
			pkt: sfDatagram(agentA, sfFlowSample(10, 1, 2, v4,
				sfGatewaySegments(174, []uint32{3320}, []uint32{1299, 2914, 3356, 6453, 6762, 7018}, nil))),
			fast: outcome{Records: rec(7018), Exporter: agentA.String()}, reference: outcome{Records: rec(3320), Exporter: agentA.String()},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(decodeOutcome(t, NewFastSFlow(), tc.pkt, sflowSrc), tc.fast); diff != "" {
				t.Errorf("fast (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(decodeOutcome(t, NewSFlow(), tc.pkt, sflowSrc), tc.reference); diff != "" {
				t.Errorf("reference (-got +want):\n%s", diff)
			}
			// The differential check accepts it, and only because of it.
			sflowPair().check(t, tc.name, tc.pkt, sflowSrc)
		})
	}
}

// readCapture reads datagrams captured from a real exporter, each as a
// 4-octet big-endian length and the datagram (testdata/captures/make.sh).
func readCapture(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 || int(binary.BigEndian.Uint32(b)) > len(b)-4 {
			t.Fatalf("%s: cut", path)
		}
		n := int(binary.BigEndian.Uint32(b))
		out = append(out, b[4:4+n])
		b = b[4+n:]
	}
	return out
}

func TestFastNetFlowMatchesReferenceOnCaptures(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "captures", "*.bin"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			p := netflowPair()
			var records []Record
			for i, pkt := range readCapture(t, path) {
				got := p.check(t, fmt.Sprintf("datagram %d", i), pkt, srcA)
				if got.Reason != "" {
					t.Fatalf("datagram %d: %s", i, got.Reason)
				}
				records = append(records, got.Records...)
			}
			if len(records) == 0 {
				t.Fatal("no records")
			}
			// The pcap holds 400 packets of one flow each, 266 of them
			// IPv4, of 287394 and 188828 layer-3 octets; softflowd -s 4
			// keeps every fourth and announces the rate (1 when unsampled).
			type sum struct {
				Records, IPv4 int
				Octets        uint64
				Rates         map[uint32]int
			}
			got := sum{Rates: map[uint32]int{}}
			for _, r := range records {
				got.Records++
				got.Octets += r.Bytes
				if r.IPVersion == 4 {
					got.IPv4++
				}
				got.Rates[r.SamplingRate]++
			}
			want := sum{Records: 400, IPv4: 266, Octets: 287394, Rates: map[uint32]int{1: 400}}
			switch name := filepath.Base(path); {
			case strings.HasSuffix(name, "-v5.bin"): // IPv4 only, no rate
				want = sum{Records: 266, IPv4: 266, Octets: 188828, Rates: map[uint32]int{0: 266}}
			case strings.HasSuffix(name, "-sampled.bin"):
				want = sum{Records: 100, IPv4: 66, Octets: 66269, Rates: map[uint32]int{4: 100}}
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("records (-got +want):\n%s", diff)
			}
		})
	}
}
