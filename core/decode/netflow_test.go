package decode

import (
	"errors"
	"net/netip"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	exporterA = netip.MustParseAddr("192.0.2.1")
	exporterB = netip.MustParseAddr("192.0.2.2")
	srcA      = netip.AddrPortFrom(exporterA, 50000)
)

// decodeAll decodes pkt and returns copies of the records emitted.
func decodeAll(t *testing.T, d Decoder, pkt []byte, src netip.AddrPort) ([]Record, netip.Addr, error) {
	t.Helper()
	var recs []Record
	exp, err := d.Decode(pkt, src, func(r *Record) { recs = append(recs, *r) })
	if err != nil {
		var de *Error
		if !errors.As(err, &de) {
			t.Fatalf("Decode() error %v (%T) is not an *Error", err, err)
		}
		var pe panicError
		if errors.As(err, &pe) {
			t.Fatalf("Decode() panicked: %v", err)
		}
	}
	return recs, exp, err
}

// mustDecode decodes pkt and fails the test on error.
func mustDecode(t *testing.T, d Decoder, pkt []byte, src netip.AddrPort) []Record {
	t.Helper()
	recs, _, err := decodeAll(t, d, pkt, src)
	if err != nil {
		t.Fatalf("Decode() error: %v", err)
	}
	return recs
}

func reasonOf(err error) string {
	var de *Error
	if errors.As(err, &de) {
		return de.Reason
	}
	if err != nil {
		return "not an *Error: " + err.Error()
	}
	return ""
}

func TestNetFlowV5(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval uint16
		wantRate uint32
	}{
		{"unsampled", 0, 0},
		{"sampled", 1000, 1000},
		{"mode bits ignored", 0x4000 | 512, 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkt := encodeV5(tc.interval, -1,
				v5Rec{In: 531, Out: 7, Pkts: 3, Octets: 4500, SrcAS: 174, DstAS: 64500},
				v5Rec{In: 9, Out: 612, Pkts: 1, Octets: 60, SrcAS: 64500, DstAS: 3320},
			)
			// IPv4-mapped source: the exporter must come back unmapped.
			src := netip.AddrPortFrom(netip.MustParseAddr("::ffff:192.0.2.1"), 2055)
			recs, exp, err := decodeAll(t, NewNetFlow(NewTemplates()), pkt, src)
			if err != nil {
				t.Fatal(err)
			}
			if exp != exporterA {
				t.Errorf("exporter = %v, want %v", exp, exporterA)
			}
			want := []Record{
				{Bytes: 4500, Packets: 3, SamplingRate: tc.wantRate, InIf: 531, OutIf: 7, SrcAS: 174, DstAS: 64500, IPVersion: 4},
				{Bytes: 60, Packets: 1, SamplingRate: tc.wantRate, InIf: 9, OutIf: 612, SrcAS: 64500, DstAS: 3320, IPVersion: 4},
			}
			if diff := cmp.Diff(recs, want); diff != "" {
				t.Errorf("records (-got +want):\n%s", diff)
			}
		})
	}
}

var (
	v4Fields = []field{f(1, 8), f(2, 4), f(10, 4), f(14, 4), f(16, 4), f(17, 4), f(8, 4), f(12, 4), f(61, 1)}
	v6Fields = []field{f(1, 4), f(2, 4), f(10, 2), f(14, 2), f(16, 2), f(17, 2), f(27, 16), f(28, 16)}
)

func TestNetFlowTemplatedFields(t *testing.T) {
	for _, version := range []uint16{9, 10} {
		t.Run(map[uint16]string{9: "v9", 10: "ipfix"}[version], func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				fields []field
				values [][]uint64
				want   []Record
			}{
				{
					name:   "ipv4 and direction",
					fields: v4Fields,
					values: [][]uint64{
						{1500, 2, 531, 7, 174, 64500, 0x0a000001, 0x0a000002, 0},
						{900, 1, 9, 612, 64500, 3320, 0x0a000001, 0x0a000002, 1},
						{100, 1, 9, 612, 64500, 3320, 0x0a000001, 0x0a000002, 7},
					},
					want: []Record{
						{Bytes: 1500, Packets: 2, InIf: 531, OutIf: 7, SrcAS: 174, DstAS: 64500, IPVersion: 4, Direction: DirectionIngress},
						{Bytes: 900, Packets: 1, InIf: 9, OutIf: 612, SrcAS: 64500, DstAS: 3320, IPVersion: 4, Direction: DirectionEgress},
						{Bytes: 100, Packets: 1, InIf: 9, OutIf: 612, SrcAS: 64500, DstAS: 3320, IPVersion: 4},
					},
				},
				{
					name:   "ipv6 from address fields",
					fields: v6Fields,
					values: [][]uint64{{1280, 1, 531, 7, 174, 64500, 1, 2}},
					want:   []Record{{Bytes: 1280, Packets: 1, InIf: 531, OutIf: 7, SrcAS: 174, DstAS: 64500, IPVersion: 6}},
				},
				{
					name:   "ip version field wins",
					fields: []field{f(1, 4), f(2, 4), f(60, 1), f(8, 4), f(27, 16)},
					values: [][]uint64{{40, 1, 6, 0x0a000001, 0}},
					want:   []Record{{Bytes: 40, Packets: 1, IPVersion: 6}},
				},
				{
					name:   "both address families, one filled",
					fields: []field{f(1, 4), f(2, 4), f(8, 4), f(27, 16)},
					values: [][]uint64{{40, 1, 0, 5}, {50, 1, 0x0a000001, 0}},
					want:   []Record{{Bytes: 40, Packets: 1, IPVersion: 6}, {Bytes: 50, Packets: 1, IPVersion: 4}},
				},
				{
					name:   "fallback counters and physical interfaces",
					fields: []field{f(23, 4), f(24, 4), f(252, 4), f(253, 4), f(10, 4)},
					values: [][]uint64{{777, 3, 41, 42, 0}},
					want:   []Record{{Bytes: 777, Packets: 3, InIf: 41, OutIf: 42}},
				},
				{
					name:   "total counters",
					fields: []field{f(85, 8), f(86, 8)},
					values: [][]uint64{{1 << 40, 5}},
					want:   []Record{{Bytes: 1 << 40, Packets: 5}},
				},
			} {
				t.Run(tc.name, func(t *testing.T) {
					pkt := message(version, 1, templateSet(version, 300, tc.fields...), dataSet(300, tc.fields, tc.values...))
					got := mustDecode(t, NewNetFlow(NewTemplates()), pkt, srcA)
					if diff := cmp.Diff(got, tc.want); diff != "" {
						t.Errorf("records (-got +want):\n%s", diff)
					}
				})
			}
		})
	}
}

func TestIPFIXEnterpriseFieldsIgnored(t *testing.T) {
	// Enterprise element 1 (PEN 9) must not be read as octetDeltaCount.
	fields := []field{{Type: 1, Length: 4, PEN: 9}, f(1, 4), {Type: 2, Length: 4, PEN: 29305}, f(2, 2)}
	pkt := message(10, 0, templateSet(10, 256, fields...), dataSet(256, fields, []uint64{999, 100, 888, 2}))
	got := mustDecode(t, NewNetFlow(NewTemplates()), pkt, srcA)
	if diff := cmp.Diff(got, []Record{{Bytes: 100, Packets: 2}}); diff != "" {
		t.Errorf("records (-got +want):\n%s", diff)
	}
}

func TestSamplingRates(t *testing.T) {
	data := []field{f(1, 4), f(2, 4), f(10, 4)}
	withSampler := []field{f(1, 4), f(2, 4), f(10, 4), f(48, 1)}
	withSelector := []field{f(1, 4), f(2, 4), f(10, 4), f(302, 4)}
	for _, tc := range []struct {
		name    string
		version uint16
		sets    [][]byte // sent first, in their own datagram
		data    []byte   // a data set (template 256 or 257 below)
		want    uint32
	}{
		{
			name:    "v9 options field 34",
			version: 9,
			sets: [][]byte{
				optionsTemplateSet(9, 400, []field{f(1, 4)}, []field{f(34, 4), f(35, 1)}),
				dataSet(400, []field{f(1, 4), f(34, 4), f(35, 1)}, []uint64{0, 1000, 2}),
			},
			data: dataSet(256, data, []uint64{100, 1, 5}),
			want: 1000,
		},
		{
			name:    "ipfix options 305/306",
			version: 10,
			sets: [][]byte{
				optionsTemplateSet(10, 400, []field{f(149, 4)}, []field{f(305, 4), f(306, 4)}),
				dataSet(400, []field{f(149, 4), f(305, 4), f(306, 4)}, []uint64{1, 1, 1999}),
			},
			data: dataSet(256, data, []uint64{100, 1, 5}),
			want: 2000,
		},
		{
			name:    "ipfix options 305/306 rounded",
			version: 10,
			sets: [][]byte{
				optionsTemplateSet(10, 400, []field{f(149, 4)}, []field{f(305, 4), f(306, 4)}),
				dataSet(400, []field{f(149, 4), f(305, 4), f(306, 4)}, []uint64{1, 3, 1000}), // 1003/3 = 334.33
			},
			data: dataSet(256, data, []uint64{100, 1, 5}),
			want: 334,
		},
		{
			name:    "v9 options field 50",
			version: 9,
			sets: [][]byte{
				optionsTemplateSet(9, 400, []field{f(1, 4)}, []field{f(49, 1), f(50, 4)}),
				dataSet(400, []field{f(1, 4), f(49, 1), f(50, 4)}, []uint64{0, 2, 512}),
			},
			data: dataSet(256, data, []uint64{100, 1, 5}),
			want: 512,
		},
		{
			name:    "v9 sampler id maps to its rate",
			version: 9,
			sets: [][]byte{
				optionsTemplateSet(9, 400, []field{f(1, 4)}, []field{f(48, 1), f(49, 1), f(50, 4)}),
				dataSet(400, []field{f(1, 4), f(48, 1), f(49, 1), f(50, 4)},
					[]uint64{0, 1, 2, 100}, []uint64{0, 2, 2, 4000}),
				// An exporter-wide rate too: the sampler's must win.
				optionsTemplateSet(9, 401, []field{f(1, 4)}, []field{f(34, 4)}),
				dataSet(401, []field{f(1, 4), f(34, 4)}, []uint64{0, 10}),
			},
			data: dataSet(257, withSampler, []uint64{100, 1, 5, 2}),
			want: 4000,
		},
		{
			name:    "v9 unknown sampler id falls back to the domain rate",
			version: 9,
			sets: [][]byte{
				optionsTemplateSet(9, 400, []field{f(1, 4)}, []field{f(48, 1), f(50, 4)}),
				dataSet(400, []field{f(1, 4), f(48, 1), f(50, 4)}, []uint64{0, 1, 100}),
				optionsTemplateSet(9, 401, []field{f(1, 4)}, []field{f(34, 4)}),
				dataSet(401, []field{f(1, 4), f(34, 4)}, []uint64{0, 10}),
			},
			data: dataSet(257, withSampler, []uint64{100, 1, 5, 9}),
			want: 10,
		},
		{
			name:    "single sampler used for records without sampler id",
			version: 9,
			sets: [][]byte{
				optionsTemplateSet(9, 400, []field{f(1, 4)}, []field{f(48, 2), f(50, 4)}),
				dataSet(400, []field{f(1, 4), f(48, 2), f(50, 4)}, []uint64{0, 1, 300}),
			},
			data: dataSet(256, data, []uint64{100, 1, 5}),
			want: 300,
		},
		{
			name:    "ipfix selector id as scope",
			version: 10,
			sets: [][]byte{
				optionsTemplateSet(10, 400, []field{f(302, 4)}, []field{f(305, 4), f(306, 4)}),
				dataSet(400, []field{f(302, 4), f(305, 4), f(306, 4)},
					[]uint64{7, 1, 99}, []uint64{8, 1, 9}),
			},
			data: dataSet(258, withSelector, []uint64{100, 1, 5, 8}),
			want: 10,
		},
		{
			name:    "rate inside the data record wins",
			version: 10,
			sets: [][]byte{
				optionsTemplateSet(10, 400, []field{f(149, 4)}, []field{f(34, 4)}),
				dataSet(400, []field{f(149, 4), f(34, 4)}, []uint64{1, 10}),
				templateSet(10, 259, f(1, 4), f(2, 4), f(34, 4)),
			},
			data: dataSet(259, []field{f(1, 4), f(2, 4), f(34, 4)}, []uint64{100, 1, 64}),
			want: 64,
		},
		{
			name:    "no rate announced",
			version: 10,
			data:    dataSet(256, data, []uint64{100, 1, 5}),
			want:    0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := NewTemplates()
			d := NewNetFlow(store)
			v := tc.version
			mustDecode(t, d, message(v, 3,
				templateSet(v, 256, data...), templateSet(v, 257, withSampler...), templateSet(v, 258, withSelector...)), srcA)
			if len(tc.sets) > 0 {
				mustDecode(t, d, message(v, 3, tc.sets...), srcA)
			}
			got := mustDecode(t, d, message(v, 3, tc.data), srcA)
			if len(got) != 1 {
				t.Fatalf("got %d records, want 1", len(got))
			}
			if got[0].SamplingRate != tc.want {
				t.Errorf("SamplingRate = %d, want %d", got[0].SamplingRate, tc.want)
			}
			if got[0].Bytes != 100 {
				t.Errorf("Bytes = %d, want 100", got[0].Bytes)
			}
		})
	}
}

func TestOptionsApplyWithinDatagram(t *testing.T) {
	// Options template, options data and data in one datagram, data first.
	d := NewNetFlow(NewTemplates())
	data := []field{f(1, 4), f(2, 4)}
	pkt := message(9, 0,
		templateSet(9, 256, data...),
		optionsTemplateSet(9, 400, []field{f(1, 4)}, []field{f(34, 4)}),
		dataSet(256, data, []uint64{10, 1}),
		dataSet(400, []field{f(1, 4), f(34, 4)}, []uint64{0, 100}),
	)
	got := mustDecode(t, d, pkt, srcA)
	if diff := cmp.Diff(got, []Record{{Bytes: 10, Packets: 1, SamplingRate: 100}}); diff != "" {
		t.Errorf("records (-got +want):\n%s", diff)
	}
}

func TestTemplatesSharedAcrossPortsAndWorkers(t *testing.T) {
	store := NewTemplates()
	w1, w2 := NewNetFlow(store), NewNetFlow(store)
	mustDecode(t, w1, message(10, 5,
		templateSet(10, 256, v4Fields...),
		optionsTemplateSet(10, 400, []field{f(149, 4)}, []field{f(34, 4)}),
		dataSet(400, []field{f(149, 4), f(34, 4)}, []uint64{5, 100}),
	), netip.AddrPortFrom(exporterA, 1000))

	// Another worker, another source port (the exporter restarted).
	pkt := message(10, 5, dataSet(256, v4Fields, []uint64{1500, 2, 531, 7, 174, 64500, 1, 2, 0}))
	got := mustDecode(t, w2, pkt, netip.AddrPortFrom(exporterA, 2000))
	want := []Record{{Bytes: 1500, Packets: 2, SamplingRate: 100, InIf: 531, OutIf: 7, SrcAS: 174, DstAS: 64500, IPVersion: 4, Direction: DirectionIngress}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("records (-got +want):\n%s", diff)
	}
	if store.Len() != 2 {
		t.Errorf("Len() = %d, want 2", store.Len())
	}
}

func TestTemplatesNotShared(t *testing.T) {
	store := NewTemplates()
	d := NewNetFlow(store)
	mustDecode(t, d, message(9, 1, templateSet(9, 256, v4Fields...)), srcA)
	values := []uint64{1500, 2, 531, 7, 174, 64500, 1, 2, 0}
	for _, tc := range []struct {
		name string
		pkt  []byte
		src  netip.AddrPort
	}{
		{"other exporter", message(9, 1, dataSet(256, v4Fields, values)), netip.AddrPortFrom(exporterB, 50000)},
		{"other source id", message(9, 2, dataSet(256, v4Fields, values)), srcA},
		{"other version", message(10, 1, dataSet(256, v4Fields, values)), srcA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := decodeAll(t, d, tc.pkt, tc.src)
			if r := reasonOf(err); r != ReasonTemplateUnknown {
				t.Errorf("reason = %q, want %q", r, ReasonTemplateUnknown)
			}
			if len(got) != 0 {
				t.Errorf("emitted %d records, want none", len(got))
			}
		})
	}
	if got := store.PerExporter(); !cmp.Equal(got, map[netip.Addr]int{exporterA: 1}) {
		t.Errorf("PerExporter() = %v, want only %v: 1", got, exporterA)
	}
}

func TestTemplateUnknownAmongKnownSets(t *testing.T) {
	data := []field{f(1, 4), f(2, 4)}
	pkt := message(9, 0,
		templateSet(9, 256, data...),
		dataSet(256, data, []uint64{10, 1}),
		dataSet(999, data, []uint64{20, 2}), // never announced
		dataSet(256, data, []uint64{30, 3}),
	)
	store := NewTemplates()
	got, _, err := decodeAll(t, NewNetFlow(store), pkt, srcA)
	if r := reasonOf(err); r != ReasonTemplateUnknown {
		t.Errorf("reason = %q, want %q", r, ReasonTemplateUnknown)
	}
	if diff := cmp.Diff(got, []Record{{Bytes: 10, Packets: 1}, {Bytes: 30, Packets: 3}}); diff != "" {
		t.Errorf("records (-got +want):\n%s", diff)
	}
	if store.Len() != 1 {
		t.Errorf("Len() = %d, want the template learned before the unknown set", store.Len())
	}
}

func TestTemplateChangeAndWithdrawal(t *testing.T) {
	store := NewTemplates()
	d := NewNetFlow(store)
	mustDecode(t, d, message(10, 0, templateSet(10, 256, f(1, 4), f(2, 4))), srcA)
	gen := store.Generation()
	mustDecode(t, d, message(10, 0, templateSet(10, 256, f(1, 4), f(2, 4))), srcA)
	if store.Generation() != gen {
		t.Errorf("refreshing an identical template changed the store")
	}
	// Redefined with other fields: the new definition is used.
	mustDecode(t, d, message(10, 0, templateSet(10, 256, f(2, 4), f(1, 8))), srcA)
	got := mustDecode(t, d, message(10, 0, dataSet(256, []field{f(2, 4), f(1, 8)}, []uint64{3, 5000})), srcA)
	if diff := cmp.Diff(got, []Record{{Bytes: 5000, Packets: 3}}); diff != "" {
		t.Errorf("records (-got +want):\n%s", diff)
	}
	// Withdrawn (no fields): data is unknown again.
	mustDecode(t, d, message(10, 0, templateSet(10, 256), templateSet(10, 257, f(1, 4))), srcA)
	if store.Len() != 1 {
		t.Errorf("Len() = %d after withdrawal, want 1", store.Len())
	}
	_, _, err := decodeAll(t, d, message(10, 0, dataSet(256, []field{f(2, 4), f(1, 8)}, []uint64{3, 5000})), srcA)
	if r := reasonOf(err); r != ReasonTemplateUnknown {
		t.Errorf("reason = %q, want %q", r, ReasonTemplateUnknown)
	}

	// A v9 set of id 0 with an empty record withdraws nothing; IPFIX
	// template id 2 without fields withdraws all data templates of the
	// domain, and only those.
	mustDecode(t, d, message(10, 0, optionsTemplateSet(10, 400, []field{f(149, 4)}, []field{f(34, 4)})), srcA)
	mustDecode(t, d, message(10, 1, templateSet(10, 258, f(1, 4))), srcA)
	mustDecode(t, d, message(9, 0, templateSet(9, 259, f(1, 4)), set(0, []byte{0, 0, 0, 0})), srcA)
	if store.Len() != 4 {
		t.Fatalf("Len() = %d, want 4", store.Len())
	}
	mustDecode(t, d, message(10, 0, templateSet(10, 2)), srcA)
	ts := store.TemplateSystem(exporterA)
	for _, k := range []struct {
		version uint16
		domain  uint32
		id      uint16
		want    bool
	}{{10, 0, 257, false}, {10, 0, 400, true}, {10, 1, 258, true}, {9, 0, 259, true}} {
		if _, err := ts.GetTemplate(k.version, k.domain, k.id); (err == nil) != k.want {
			t.Errorf("template %+v present = %v, want %v", k, err == nil, k.want)
		}
	}
}

func TestTemplateLimit(t *testing.T) {
	store := NewTemplates()
	d := NewNetFlow(store)
	for id := range maxExporterTemplates {
		mustDecode(t, d, message(10, 0, templateSet(10, uint16(256+id), f(1, 4))), srcA)
	}
	_, _, err := decodeAll(t, d, message(10, 0, templateSet(10, 256+maxExporterTemplates, f(1, 4))), srcA)
	if r := reasonOf(err); r != ReasonMalformed {
		t.Errorf("template beyond the limit: reason %q, want %q", r, ReasonMalformed)
	}
	// Redefining a known one is still fine, and other exporters have room.
	mustDecode(t, d, message(10, 0, templateSet(10, 256, f(2, 4))), srcA)
	mustDecode(t, d, message(10, 0, templateSet(10, 256, f(2, 4))), netip.AddrPortFrom(exporterB, 1))
	if store.Len() != maxExporterTemplates+1 {
		t.Errorf("Len() = %d, want %d", store.Len(), maxExporterTemplates+1)
	}
}

func TestTemplateSystemView(t *testing.T) {
	store := NewTemplates()
	ts := store.TemplateSystem(netip.MustParseAddr("::ffff:192.0.2.1"))
	d := NewNetFlow(store)
	mustDecode(t, d, message(9, 4, templateSet(9, 256, f(1, 4))), srcA)
	if got := len(ts.GetTemplates()); got != 1 {
		t.Errorf("GetTemplates() has %d templates, want 1", got)
	}
	if _, err := ts.GetTemplate(9, 4, 256); err != nil {
		t.Errorf("GetTemplate() error: %v", err)
	}
	if _, err := ts.RemoveTemplate(9, 4, 256); err != nil {
		t.Errorf("RemoveTemplate() error: %v", err)
	}
	if _, err := ts.GetTemplate(9, 4, 256); err == nil {
		t.Errorf("GetTemplate() after RemoveTemplate() found the template")
	}
}

func TestNetFlowMalformed(t *testing.T) {
	data := []field{f(1, 4), f(2, 4)}
	good := message(9, 0, templateSet(9, 256, data...), dataSet(256, data, []uint64{10, 1}))
	ipfix := message(10, 0, templateSet(10, 256, data...), dataSet(256, data, []uint64{10, 1}))
	withSetLen := func(pkt []byte, off int, n uint16) []byte {
		p := append([]byte(nil), pkt...)
		p[off+2], p[off+3] = byte(n>>8), byte(n)
		return p
	}
	for _, tc := range []struct {
		name    string
		pkt     []byte
		reason  string
		records int
	}{
		{"empty", nil, ReasonShort, 0},
		{"one octet", []byte{0}, ReasonShort, 0},
		{"unknown version", []byte{0, 7, 0, 0}, ReasonVersion, 0},
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: example\r\n\r\n"), ReasonVersion, 0},
		{"v5 header cut", encodeV5(0, -1)[:20], ReasonShort, 0},
		{"v5 records missing", encodeV5(0, 3, v5Rec{Octets: 1, Pkts: 1}), ReasonShort, 1},
		{"v9 header cut", good[:15], ReasonShort, 0},
		{"v9 set cut", good[:len(good)-3], ReasonShort, 0},
		{"v9 set length below 4", withSetLen(good, 20, 2), ReasonMalformed, 0},
		{"v9 reserved set id", message(9, 0, set(7, []byte{0, 0, 0, 0})), ReasonMalformed, 0},
		{"v9 template cut inside", message(9, 0, set(0, []byte{1, 0, 0, 3, 0, 1, 0, 4, 0})), ReasonMalformed, 0},
		{"v9 zero-size template", message(9, 0, templateSet(9, 256, f(1, 0), f(2, 0))), ReasonMalformed, 0},
		{"v9 template id below 256", message(9, 0, templateSet(9, 17, f(1, 4))), ReasonMalformed, 0},
		{"v9 template field count beyond set", message(9, 0, set(0, []byte{1, 0, 0xff, 0xff, 0, 1, 0, 4})), ReasonMalformed, 0},
		{"v9 options template lengths beyond set", message(9, 0, set(1, []byte{1, 0, 0xff, 0xfc, 0, 4, 0, 1, 0, 4, 0, 34, 0, 4})), ReasonMalformed, 0},
		{"v9 template with a zero-length field", message(9, 0, templateSet(9, 256, f(1, 4), f(2, 0))), ReasonMalformed, 0},
		{"ipfix template with too many fields", message(10, 0, templateSet(10, 256, make([]field, 1025)...)), ReasonMalformed, 0},
		{"ipfix enterprise number cut", message(10, 0, set(2, []byte{1, 0, 0, 1, 0x80, 1, 0, 4})), ReasonMalformed, 0},
		{"ipfix options template scopes above count", message(10, 0, set(3, []byte{1, 0, 0, 1, 0, 2, 0, 1, 0, 4, 0, 34, 0, 4})), ReasonMalformed, 0},
		{"v9 count zero", func() []byte { p := append([]byte(nil), good...); p[2], p[3] = 0, 0; return p }(), "", 1},
		{"v9 data before template", message(9, 0, dataSet(256, data, []uint64{10, 1})), ReasonTemplateUnknown, 0},
		{"ipfix header cut", ipfix[:12], ReasonShort, 0},
		{"ipfix length beyond datagram", ipfix[:len(ipfix)-4], ReasonShort, 0},
		{"ipfix length below header", withSetLen(ipfix, 0, 8), ReasonMalformed, 0},
		{"ipfix trailing octets", append(withSetLen(ipfix, 0, uint16(len(ipfix)+2)), 0, 0), ReasonMalformed, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := NewTemplates()
			got, _, err := decodeAll(t, NewNetFlow(store), tc.pkt, srcA)
			if r := reasonOf(err); r != tc.reason {
				t.Errorf("reason = %q (%v), want %q", r, err, tc.reason)
			}
			if len(got) != tc.records {
				t.Errorf("emitted %d records, want %d", len(got), tc.records)
			}
			if tc.reason == ReasonMalformed && tc.records == 0 && store.Len() != 0 {
				t.Errorf("a malformed datagram left %d templates", store.Len())
			}
		})
	}
}

func TestConcurrentWorkers(t *testing.T) {
	// Two workers decode while templates of other domains keep changing;
	// run with -race to check the store's publication.
	store := NewTemplates()
	data := []field{f(1, 4), f(2, 4)}
	mustDecode(t, NewNetFlow(store), message(10, 0, templateSet(10, 256, data...)), srcA)
	pkt := message(10, 0, dataSet(256, data, []uint64{10, 1}, []uint64{20, 2}))
	var wg sync.WaitGroup
	totals := make([]uint64, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := NewNetFlow(store)
			for i := range 2000 {
				if _, err := d.Decode(pkt, srcA, func(r *Record) { totals[w] += r.Bytes }); err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				if i%10 == 0 {
					d.Decode(message(10, uint32(i+1), templateSet(10, 256+uint16(i%50), data...)), srcA, func(*Record) {})
				}
			}
		}()
	}
	wg.Wait()
	for w, total := range totals {
		if total != 2000*30 {
			t.Errorf("worker %d counted %d bytes, want %d", w, total, 2000*30)
		}
	}
}

func TestIPFIXVariableLength(t *testing.T) {
	// interfaceName (82) of variable length between the counters; the
	// second record uses the three-octet length form.
	tmpl := templateSet(10, 260, f(1, 4), f(82, 0xffff), f(2, 2))
	long := make([]byte, 300)
	body := []byte{0, 0, 1, 0, 3, 'a', 'b', 'c', 0, 7}
	body = append(body, 0, 0, 0, 40, 0xff, 1, 44)
	body = append(body, long...)
	body = append(body, 0, 1)
	got := mustDecode(t, NewNetFlow(NewTemplates()), message(10, 0, tmpl, set(260, body)), srcA)
	if diff := cmp.Diff(got, []Record{{Bytes: 256, Packets: 7}, {Bytes: 40, Packets: 1}}); diff != "" {
		t.Errorf("records (-got +want):\n%s", diff)
	}
}
