package decode

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSaveLoad(t *testing.T) {
	store := NewTemplates()
	d := NewNetFlow(store)
	withSampler := []field{f(1, 4), f(2, 4), f(48, 1)}
	ipfixFields := []field{f(1, 8), f(2, 8), {Type: 5, Length: 2, PEN: 2636}, f(61, 1)}
	// v9 from exporter A: data template, sampler table, exporter-wide rate.
	mustDecode(t, d, message(9, 3,
		templateSet(9, 256, v4Fields...),
		templateSet(9, 257, withSampler...),
		optionsTemplateSet(9, 400, []field{f(1, 4)}, []field{f(48, 1), f(50, 4)}),
		dataSet(400, []field{f(1, 4), f(48, 1), f(50, 4)}, []uint64{0, 1, 100}, []uint64{0, 2, 200}),
		optionsTemplateSet(9, 401, []field{f(1, 4)}, []field{f(34, 4)}),
		dataSet(401, []field{f(1, 4), f(34, 4)}, []uint64{0, 1000}),
	), srcA)
	// IPFIX from exporter B (IPv6), with an enterprise field.
	exporterC := netip.MustParseAddr("2001:db8::9")
	srcC := netip.AddrPortFrom(exporterC, 4739)
	mustDecode(t, d, message(10, 8,
		templateSet(10, 300, ipfixFields...),
		optionsTemplateSet(10, 500, []field{f(302, 4)}, []field{f(305, 4), f(306, 4)}),
		dataSet(500, []field{f(302, 4), f(305, 4), f(306, 4)}, []uint64{4, 1, 63}),
	), srcC)

	path := filepath.Join(t.TempDir(), "templates.json")
	if err := store.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadTemplates(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(loaded.PerExporter(), map[netip.Addr]int{exporterA: 4, exporterC: 2}); diff != "" {
		t.Errorf("PerExporter() after load (-got +want):\n%s", diff)
	}
	if loaded.Len() != 6 {
		t.Errorf("Len() after load = %d, want 6", loaded.Len())
	}

	// A restarted daemon decodes data at once, with the right rates, from
	// another source port, without the templates being sent again.
	d2 := NewNetFlow(loaded)
	got := mustDecode(t, d2, message(9, 3,
		dataSet(256, v4Fields, []uint64{1500, 2, 531, 7, 174, 64500, 1, 2, 1}),
		dataSet(257, withSampler, []uint64{100, 1, 2}),
	), netip.AddrPortFrom(exporterA, 60000))
	got = append(got, mustDecode(t, d2, message(10, 8,
		dataSet(300, ipfixFields, []uint64{4000, 3, 9, 0}),
	), srcC)...)
	want := []Record{
		{Bytes: 1500, Packets: 2, SamplingRate: 1000, InIf: 531, OutIf: 7, SrcAS: 174, DstAS: 64500, IPVersion: 4, Direction: DirectionEgress},
		{Bytes: 100, Packets: 1, SamplingRate: 200},
		{Bytes: 4000, Packets: 3, SamplingRate: 64, Direction: DirectionIngress},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("records after load (-got +want):\n%s", diff)
	}

	// Saving what was loaded gives the same file: nothing lost on the way.
	path2 := filepath.Join(t.TempDir(), "again.json")
	if err := loaded.Save(path2); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(path2)
	if !bytes.Equal(a, b) {
		t.Errorf("save after load differs:\n%s\n---\n%s", a, b)
	}
	// Saving over an existing file leaves no temporary files behind.
	if err := store.Save(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files after saving twice, want 1", len(entries))
	}
}

func TestLoadTemplatesMissingFile(t *testing.T) {
	store, err := LoadTemplates(filepath.Join(t.TempDir(), "none.json"))
	if err != nil {
		t.Fatalf("LoadTemplates() of a missing file: %v", err)
	}
	if store.Len() != 0 {
		t.Errorf("Len() = %d, want 0", store.Len())
	}
}

func TestLoadTemplatesRejectsBadFiles(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"not json", "{"},
		{"unknown format", `{"format": 99}`},
		{"zero-size template", `{"format":1,"exporters":[{"address":"192.0.2.1","templates":[
			{"version":9,"domain":0,"id":256,"kind":"data","fields":[{"type":1,"length":0}]}]}]}`},
		{"template id below 256", `{"format":1,"exporters":[{"address":"192.0.2.1","templates":[
			{"version":9,"domain":0,"id":2,"kind":"data","fields":[{"type":1,"length":4}]}]}]}`},
		{"unknown kind", `{"format":1,"exporters":[{"address":"192.0.2.1","templates":[
			{"version":9,"domain":0,"id":256,"kind":"other","fields":[{"type":1,"length":4}]}]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadTemplates(path); err == nil {
				t.Errorf("LoadTemplates() accepted %s", tc.content)
			}
		})
	}
}

func TestSaveToMissingDirectory(t *testing.T) {
	err := NewTemplates().Save(filepath.Join(t.TempDir(), "no", "such", "dir", "t.json"))
	if err == nil {
		t.Fatal("Save() into a missing directory succeeded")
	}
}
