package classify

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/core/decode"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func testConfig() *config.Config {
	return &config.Config{
		Exporters: []config.Exporter{
			{
				Name: "edge1", Address: netip.MustParseAddr("192.0.2.1"), SamplingRate: 100, LocalASN: 64500,
				Records: config.RecordsIngress,
				Interfaces: []config.Interface{
					{Name: "transit", IfIndex: 1, Role: "transit"},
					{Name: "ix", IfIndex: 2, Role: "ix", ForceSamplingRate: 7},
					{Name: "pni", IfIndex: 3, Role: "pni", SamplingRate: 50},
				},
			},
			{
				Name: "edge2", Address: netip.MustParseAddr("2001:db8::2"), Records: config.RecordsBoth,
				Interfaces: []config.Interface{
					{Name: "a", IfIndex: 10, Role: "peering"},
					{Name: "b", IfIndex: 11, Role: "transit"},
				},
			},
			{
				Name: "edge3", Address: netip.MustParseAddr("192.0.2.3"), ForceSamplingRate: 3,
				Interfaces: []config.Interface{{Name: "x", IfIndex: 1, Role: "core"}},
			},
		},
	}
}

type row struct {
	Iface     string
	Dir       string
	Remote    uint32
	Local     uint32
	IPVersion uint8
	Bytes     uint64
	Packets   uint64
	Flows     uint64
}

// classifyAll runs records through Classify and returns the batch rows by
// interface name.
func classifyAll(t *testing.T, exporter string, recs []decode.Record) ([]row, []aggregate.Unclassified, *Table) {
	t.Helper()
	reg := aggregate.NewRegistry()
	tab := NewTable(testConfig(), reg, nil)
	var batches []*aggregate.Batch
	m := aggregate.NewMerger(discard, aggregate.DefaultConfiguration(), reg, func(b *aggregate.Batch) { batches = append(batches, b) })
	w := m.AddWorker()
	s := m.NewShard(time.Unix(0, 0))
	var e *Exporter
	for _, x := range tab.Exporters() {
		if x.Name == exporter {
			e = x
		}
	}
	for i := range recs {
		e.Classify(discard, &recs[i], s)
	}
	m.Hand(w, s)
	if len(batches) != 1 {
		t.Fatalf("got %d batches", len(batches))
	}
	var rows []row
	for _, r := range batches[0].Rows {
		rows = append(rows, row{batches[0].Interfaces[r.Interface].Name, r.Direction.String(), r.RemoteASN, r.LocalASN, r.IPVersion, r.Bytes, r.Packets, r.Flows})
	}
	return rows, batches[0].Unclassified, tab
}

func TestDirectionsASNsAndSampling(t *testing.T) {
	recs := []decode.Record{
		// in on transit, exporter's configured rate 100, AS 0 local → local_asn
		{Bytes: 1000, Packets: 2, InIf: 1, OutIf: 99, SrcAS: 174, DstAS: 0, IPVersion: 4},
		// announced rate 1000 beats configured 100
		{Bytes: 10, Packets: 1, InIf: 1, SrcAS: 174, DstAS: 64501, IPVersion: 4, SamplingRate: 1000},
		// forced 7 on ix beats announced 1000; crosses two declared interfaces: counts on both
		{Bytes: 3, Packets: 1, InIf: 2, OutIf: 3, SrcAS: 6939, DstAS: 13335, IPVersion: 6, SamplingRate: 1000},
		// out on pni with the interface's own configured rate 50 (nothing announced)
		{Bytes: 2, Packets: 1, InIf: 42, OutIf: 3, SrcAS: 0, DstAS: 13335, IPVersion: 6},
		// crossing no declared interface
		{Bytes: 5, Packets: 1, InIf: 42, OutIf: 43, IPVersion: 4},
	}
	rows, unclassified, _ := classifyAll(t, "edge1", recs)
	want := []row{
		{"transit", "in", 174, 64500, 4, 100000, 200, 1},
		{"transit", "in", 174, 64501, 4, 10000, 1000, 1},
		// announced 1000 beats pni's configured 50
		{"pni", "out", 13335, 6939, 6, 3000, 1000, 1},
		{"pni", "out", 13335, 64500, 6, 100, 50, 1},
		{"ix", "in", 6939, 13335, 6, 21, 7, 1},
	}
	if diff := cmp.Diff(rows, want); diff != "" {
		t.Errorf("rows (-got +want):\n%s", diff)
	}
	wantU := []aggregate.Unclassified{{Exporter: "edge1", IfIndex: 42, Bytes: 500, Flows: 1}}
	if diff := cmp.Diff(unclassified, wantU); diff != "" {
		t.Errorf("unclassified (-got +want):\n%s", diff)
	}
}

func TestRecordsBothCountsEachSideOnce(t *testing.T) {
	recs := []decode.Record{
		// the same flow exported at ingress (on a) and at egress (on b)
		{Bytes: 100, Packets: 1, InIf: 10, OutIf: 11, SrcAS: 1, DstAS: 2, IPVersion: 4, SamplingRate: 10, Direction: decode.DirectionIngress},
		{Bytes: 100, Packets: 1, InIf: 10, OutIf: 11, SrcAS: 1, DstAS: 2, IPVersion: 4, SamplingRate: 10, Direction: decode.DirectionEgress},
	}
	rows, _, tab := classifyAll(t, "edge2", recs)
	want := []row{
		{"a", "in", 1, 2, 4, 1000, 10, 1},
		{"b", "out", 2, 1, 4, 1000, 10, 1},
	}
	if diff := cmp.Diff(rows, want); diff != "" {
		t.Errorf("rows (-got +want):\n%s", diff)
	}
	// AS 0 stays 0 without local_asn; no rate anywhere → assumed 1, counted.
	recs = []decode.Record{{Bytes: 9, Packets: 1, InIf: 10, SrcAS: 5, IPVersion: 4, Direction: decode.DirectionIngress}}
	rows, _, tab = classifyAll(t, "edge2", recs)
	if diff := cmp.Diff(rows, []row{{"a", "in", 5, 0, 4, 9, 1, 1}}); diff != "" {
		t.Errorf("rows (-got +want):\n%s", diff)
	}
	e := tab.Exporter(netip.MustParseAddr("2001:db8::2"))
	if got := e.Counters.SamplingAssumed.Load(); got != 1 {
		t.Errorf("sampling assumed = %d, want 1", got)
	}
}

func TestExporterForceBeatsAnnounced(t *testing.T) {
	rows, _, _ := classifyAll(t, "edge3", []decode.Record{{Bytes: 1, Packets: 1, InIf: 1, SamplingRate: 512, IPVersion: 4}})
	if diff := cmp.Diff(rows, []row{{"x", "in", 0, 0, 4, 3, 3, 1}}); diff != "" {
		t.Errorf("rows (-got +want):\n%s", diff)
	}
}

func TestLookupNormalisesMappedAddresses(t *testing.T) {
	tab := NewTable(testConfig(), aggregate.NewRegistry(), nil)
	if e := tab.Exporter(netip.MustParseAddr("::ffff:192.0.2.1")); e == nil || e.Name != "edge1" {
		t.Errorf("IPv4-mapped lookup = %v, want edge1", e)
	}
	if e := tab.Exporter(netip.MustParseAddr("192.0.2.99")); e != nil {
		t.Errorf("unknown address matched %s", e.Name)
	}
}

func TestReloadKeepsCountersAndIDs(t *testing.T) {
	reg := aggregate.NewRegistry()
	t1 := NewTable(testConfig(), reg, nil)
	e1 := t1.Exporter(netip.MustParseAddr("192.0.2.1"))
	e1.Counters.Flows.Add(5)
	t2 := NewTable(testConfig(), reg, t1)
	e2 := t2.Exporter(netip.MustParseAddr("192.0.2.1"))
	if e2.Counters.Flows.Load() != 5 || e2.ID != e1.ID || e2.interfaces.get(1).id != e1.interfaces.get(1).id {
		t.Errorf("reload lost counters or ids")
	}
}

func BenchmarkClassify(b *testing.B) {
	reg := aggregate.NewRegistry()
	tab := NewTable(testConfig(), reg, nil)
	e := tab.Exporter(netip.MustParseAddr("192.0.2.1"))
	s := aggregate.NewShard(0, 1_000_000, 100)
	recs := make([]decode.Record, 1024)
	for i := range recs {
		recs[i] = decode.Record{Bytes: 1500, Packets: 1, InIf: uint32(1 + i%3), OutIf: 99, SrcAS: uint32(i % 200), DstAS: 64500, IPVersion: 4, SamplingRate: 1000}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Classify(discard, &recs[i&1023], s)
		i++
	}
}

func TestNonIPIsReceivedButNotCounted(t *testing.T) {
	reg := aggregate.NewRegistry()
	tab := NewTable(testConfig(), reg, nil)
	e := tab.Exporter(netip.MustParseAddr("192.0.2.1"))
	s := aggregate.NewShard(0, 10, 10)
	if e.Classify(discard, &decode.Record{Bytes: 60, Packets: 1, InIf: 1}, s) {
		t.Error("a non-IP record was classified")
	}
	if s.Len() != 0 || e.Counters.Flows.Load() != 1 || e.Counters.Unclassified.Load() != 0 {
		t.Errorf("non-IP record: %d keys, %d flows, %d unclassified; want 0, 1, 0", s.Len(), e.Counters.Flows.Load(), e.Counters.Unclassified.Load())
	}
}

func TestIfIndexLookup(t *testing.T) {
	var f ifaces
	a, b, c := &iface{id: 1}, &iface{id: 2}, &iface{id: 3}
	f.set(5, a)
	f.set(531, b)
	f.set(0x20000005, c) // larger than maxDense: in the map
	for _, tc := range []struct {
		ifindex uint32
		want    *iface
	}{{5, a}, {531, b}, {0x20000005, c}, {0, nil}, {6, nil}, {532, nil}, {maxDense - 1, nil}, {maxDense, nil}, {0x20000006, nil}} {
		if got := f.get(tc.ifindex); got != tc.want {
			t.Errorf("get(%d) = %v, want %v", tc.ifindex, got, tc.want)
		}
	}
}

// TestExporterCache: the cache answers as the table does, for known,
// unknown and IPv4-mapped addresses, and follows a reload to the new table.
func TestExporterCache(t *testing.T) {
	reg := aggregate.NewRegistry()
	old := NewTable(testConfig(), reg, nil)
	var c ExporterCache
	for _, a := range []string{"192.0.2.1", "2001:db8::2", "192.0.2.3", "192.0.2.9", "::ffff:192.0.2.1", "192.0.2.1"} {
		addr := netip.MustParseAddr(a)
		if got, want := c.Exporter(old, addr), old.Exporter(addr); got != want {
			t.Errorf("%s: cache gave %v, table %v", a, got, want)
		}
	}

	// A reload that drops edge1 and declares 192.0.2.9.
	cfg := testConfig()
	cfg.Exporters[0].Address = netip.MustParseAddr("192.0.2.9")
	reloaded := NewTable(cfg, reg, old)
	if e := c.Exporter(reloaded, netip.MustParseAddr("192.0.2.9")); e == nil || e.Name != "edge1" {
		t.Errorf("192.0.2.9 after reload: %v, want edge1", e)
	}
	if e := c.Exporter(reloaded, netip.MustParseAddr("192.0.2.1")); e != nil {
		t.Errorf("192.0.2.1 after reload: %s, want none", e.Name)
	}
}
