package decode

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// fastNetFlowSeeds are the reference's seeds plus datagrams that reach the
// corners of the fast decoder: refreshes, variable-length fields, options.
func fastNetFlowSeeds() []seed {
	seeds := netflowSeeds()
	tmpl, data := benchPackets()
	seeds = append(seeds,
		seed{"v9-bench-template", tmpl},
		seed{"v9-bench-data", data},
		seed{"v9-variable-options", message(9, 0,
			optionsTemplateSet(9, 403, []field{f(1, 4)}, []field{f(82, 0xffff), f(34, 4)}),
			set(403, []byte{0, 0, 0, 0, 2, 'a', 'b', 0, 0, 0, 100}),
			templateSet(9, 257, f(1, 4), f(2, 4), f(48, 1), f(82, 0xffff)),
			set(257, []byte{0, 0, 0, 9, 0, 0, 0, 1, 3, 1, 'z'}))},
		seed{"ipfix-in-record-rates", message(10, 8,
			templateSet(10, 300, f(1, 4), f(2, 4), f(305, 4), f(306, 4), f(50, 4), f(60, 1), f(8, 4), f(27, 16)),
			dataSet(300, []field{f(1, 4), f(2, 4), f(305, 4), f(306, 4), f(50, 4), f(60, 1), f(8, 4), f(27, 16)},
				[]uint64{100, 1, 1, 99, 5, 4, 1, 0}, []uint64{100, 1, 0, 0, 5, 6, 0, 1}))},
	)
	return seeds
}

func fastSFlowSeeds() []seed {
	seeds := sflowSeeds()
	for _, s := range handMadeSFlow() {
		seeds = append(seeds, s)
	}
	return seeds
}

// FuzzFastNetFlowDiff decodes random datagrams with the reference and the
// fast decoder, each primed with the same templates, and requires the same
// outcome and the same store afterwards.
func FuzzFastNetFlowDiff(f *testing.F) {
	for _, s := range fastNetFlowSeeds() {
		f.Add(s.pkt)
	}
	// Real exporters' first datagrams (templates, options) seed it too.
	paths, _ := filepath.Glob(filepath.Join("testdata", "captures", "*.bin"))
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for range 2 {
			if len(b) < 4 || int(binary.BigEndian.Uint32(b)) > len(b)-4 {
				break
			}
			n := int(binary.BigEndian.Uint32(b))
			f.Add(b[4 : 4+n])
			b = b[4+n:]
		}
	}
	src := netip.AddrPortFrom(netip.MustParseAddr("::ffff:192.0.2.1"), 2055)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		p := netflowPair()
		primeTemplates(p.ref, src)
		primeTemplates(p.fast, src)
		// Twice: the second time, templates the datagram carries are known.
		p.check(t, "first decode", pkt, src)
		p.check(t, "second decode", pkt, src)
	})
}

// FuzzFastSFlowDiff is the same for sFlow.
func FuzzFastSFlowDiff(f *testing.F) {
	for _, s := range fastSFlowSeeds() {
		f.Add(s.pkt)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		sflowPair().check(t, "decode", pkt, sflowSrc)
	})
}

// TestFastFuzzSeedCorpus checks that testdata/fuzz holds the seeds of the
// differential fuzz targets (-update-seeds rewrites them).
func TestFastFuzzSeedCorpus(t *testing.T) {
	for name, seeds := range map[string][]seed{"FuzzFastNetFlowDiff": fastNetFlowSeeds(), "FuzzFastSFlowDiff": fastSFlowSeeds()} {
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
