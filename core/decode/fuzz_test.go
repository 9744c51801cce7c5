package decode

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the fuzz seed corpora in testdata/fuzz")

type seed struct {
	name string
	pkt  []byte
}

func netflowSeeds() []seed {
	ipfixFields := []field{f(1, 8), f(2, 8), {Type: 5, Length: 2, PEN: 2636}, f(61, 1), f(27, 16), f(28, 16)}
	variable := templateSet(10, 260, f(1, 4), f(82, 0xffff))
	varData := set(260, []byte{0, 0, 1, 0, 3, 'a', 'b', 'c', 0, 0, 0, 40, 0})
	return []seed{
		{"v5", encodeV5(0x4000|100, -1,
			v5Rec{In: 531, Out: 7, Pkts: 3, Octets: 4500, SrcAS: 174, DstAS: 64500},
			v5Rec{In: 9, Out: 612, Pkts: 1, Octets: 60})},
		{"v9-template-data", message(9, 3,
			templateSet(9, 256, v4Fields...),
			dataSet(256, v4Fields, []uint64{1500, 2, 531, 7, 174, 64500, 1, 2, 0}, []uint64{60, 1, 9, 612, 0, 0, 3, 4, 1}))},
		{"v9-options-sampler", message(9, 3,
			optionsTemplateSet(9, 400, []field{f(1, 4)}, []field{f(48, 1), f(49, 1), f(50, 4)}),
			dataSet(400, []field{f(1, 4), f(48, 1), f(49, 1), f(50, 4)}, []uint64{0, 1, 2, 100}),
			templateSet(9, 257, f(1, 4), f(2, 4), f(48, 1)),
			dataSet(257, []field{f(1, 4), f(2, 4), f(48, 1)}, []uint64{100, 1, 1}))},
		{"v9-data-only", message(9, 0, dataSet(256, v4Fields, []uint64{1500, 2, 531, 7, 174, 64500, 1, 2, 0}))},
		{"ipfix-template-options-data", message(10, 8,
			templateSet(10, 300, ipfixFields...),
			optionsTemplateSet(10, 500, []field{f(302, 4)}, []field{f(305, 4), f(306, 4)}),
			dataSet(500, []field{f(302, 4), f(305, 4), f(306, 4)}, []uint64{4, 1, 63}),
			dataSet(300, ipfixFields, []uint64{4000, 3, 9, 0, 1, 2}))},
		{"ipfix-variable-length", message(10, 0, variable, varData)},
		{"ipfix-withdrawal", message(10, 8, templateSet(10, 300))},
	}
}

func sflowSeeds() []seed {
	return []seed{
		{"flow-gateway", sfDatagram(agentA, sfFlowSample(1000, 531, 7,
			sfRawHeader(1518, 4, ethIPv4(1500, 100)), sfGateway(174, 3320, 64501)))},
		{"expanded-ipv6", sfDatagram(netip.MustParseAddr("2001:db8::1"),
			sfExpandedSample(4096, 0, 70000, 2, 3, sfRawHeader(1518, 4, ethIPv6(1000))))},
		{"counter-arp", sfDatagram(agentA, sfCounterSample(), sfFlowSample(10, 1, 0x80000002, sfRawHeader(64, 4, ethARP())))},
	}
}

// primeTemplates teaches d templates for the ids the seeds use, so that
// mutated data sets reach the record decoding.
func primeTemplates(d Decoder, src netip.AddrPort) {
	noop := func(*Record) {}
	d.Decode(message(9, 3, templateSet(9, 256, v4Fields...)), src, noop)
	d.Decode(message(9, 0, templateSet(9, 256, v4Fields...)), src, noop)
	d.Decode(message(10, 8, templateSet(10, 300, f(1, 8), f(2, 8), f(61, 1))), src, noop)
}

var knownReasons = []string{ReasonShort, ReasonVersion, ReasonMalformed, ReasonTemplateUnknown}

// checkDecodeResult fails on anything but success or a counted *Error, and
// on any panic, even one Decode recovered.
func checkDecodeResult(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if !slices.Contains(knownReasons, de.Reason) {
		t.Fatalf("unknown reason %q", de.Reason)
	}
	var pe panicError
	if errors.As(err, &pe) {
		t.Fatalf("decoder panicked: %v", err)
	}
}

func FuzzNetFlow(f *testing.F) {
	for _, s := range netflowSeeds() {
		f.Add(s.pkt)
	}
	src := netip.AddrPortFrom(netip.MustParseAddr("::ffff:192.0.2.1"), 2055)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		store := NewTemplates()
		d := NewNetFlow(store)
		primeTemplates(d, src)
		// Twice: the second time, templates the datagram carries are known.
		for range 2 {
			exp, err := d.Decode(pkt, src, func(r *Record) {
				if r.IPVersion != 0 && r.IPVersion != 4 && r.IPVersion != 6 {
					t.Fatalf("IPVersion %d", r.IPVersion)
				}
			})
			checkDecodeResult(t, err)
			if exp != src.Addr().Unmap() {
				t.Fatalf("exporter %v, want %v", exp, src.Addr().Unmap())
			}
		}
		// Whatever was learned survives a save and a load.
		data, err := json.Marshal(store.snapshot())
		if err != nil {
			t.Fatal(err)
		}
		restored := NewTemplates()
		if err := restored.restore(data); err != nil {
			t.Fatalf("restore what was saved: %v", err)
		}
		if diff := cmp.Diff(restored.PerExporter(), store.PerExporter()); diff != "" {
			t.Fatalf("templates per exporter after restore (-got +want):\n%s", diff)
		}
	})
}

func FuzzSFlow(f *testing.F) {
	for _, s := range sflowSeeds() {
		f.Add(s.pkt)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		d := NewSFlow()
		exp, err := d.Decode(pkt, sflowSrc, func(r *Record) {
			if r.IPVersion != 4 && r.IPVersion != 6 {
				t.Fatalf("emitted a record with IPVersion %d", r.IPVersion)
			}
			if r.Packets != 1 {
				t.Fatalf("emitted a record with %d packets", r.Packets)
			}
		})
		checkDecodeResult(t, err)
		if exp.Is4In6() {
			t.Fatalf("exporter %v not unmapped", exp)
		}
	})
}

// TestFuzzSeedCorpus checks that testdata/fuzz holds the encoders' seeds
// (go test -run TestFuzzSeedCorpus -update-seeds rewrites them).
func TestFuzzSeedCorpus(t *testing.T) {
	for name, seeds := range map[string][]seed{"FuzzNetFlow": netflowSeeds(), "FuzzSFlow": sflowSeeds()} {
		dir := filepath.Join("testdata", "fuzz", name)
		for _, s := range seeds {
			path := filepath.Join(dir, s.name)
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s.pkt)
			if *updateSeeds {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("seed %s: %v (run with -update-seeds)", path, err)
			}
			if string(got) != want {
				t.Errorf("seed %s differs from its encoder (run with -update-seeds)", path)
			}
		}
	}
}
