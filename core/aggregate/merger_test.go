package aggregate

import (
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func testMerger(t *testing.T, cfg Configuration) (*Merger, *Registry, *[]*Batch) {
	t.Helper()
	var got []*Batch
	reg := NewRegistry()
	m := NewMerger(slog.New(slog.NewTextHandler(io.Discard, nil)), cfg, reg, func(b *Batch) { got = append(got, b) })
	return m, reg, &got
}

func TestIntervalStartAlignedToEpoch(t *testing.T) {
	for _, tc := range []struct {
		t        string
		interval time.Duration
		want     string
	}{
		{"2026-12-04T16:14:44Z", time.Minute, "2026-12-04T16:14:00Z"},
		{"2026-12-04T16:14:44Z", 5 * time.Minute, "2026-12-04T16:10:00Z"},
		{"2026-12-04T16:14:44Z", time.Hour, "2026-12-04T16:00:00Z"},
		{"2026-12-04T16:14:44Z", 10 * time.Second, "2026-12-04T16:14:40Z"},
	} {
		at, _ := time.Parse(time.RFC3339, tc.t)
		got := time.Unix(IntervalStart(at, tc.interval), 0).UTC().Format(time.RFC3339)
		if got != tc.want {
			t.Errorf("IntervalStart(%s, %s) = %s, want %s", tc.t, tc.interval, got, tc.want)
		}
	}
}

func TestMergeShardsOfAllWorkers(t *testing.T) {
	cfg := DefaultConfiguration()
	cfg.CollectorID = "fra1"
	m, reg, got := testMerger(t, cfg)
	a := reg.Interface(Interface{Exporter: "e1", Name: "transit", Role: "transit", IfIndex: 1})
	bID := reg.Interface(Interface{Exporter: "e1", Name: "ix", Role: "ix", IfIndex: 2})
	w0, w1 := m.AddWorker(), m.AddWorker()
	t0 := time.Date(2026, 12, 4, 16, 14, 10, 0, time.UTC)

	s0 := m.NewShard(t0)
	s0.Add(Key{Interface: a, RemoteASN: 174, LocalASN: 64500, IPVersion: 4}, Values{1000, 10, 1})
	s0.Add(Key{Interface: a, RemoteASN: 174, LocalASN: 64500, IPVersion: 4}, Values{500, 5, 1})
	s1 := m.NewShard(t0.Add(5 * time.Second))
	s1.Add(Key{Interface: a, RemoteASN: 174, LocalASN: 64500, IPVersion: 4}, Values{1, 1, 1})
	s1.Add(Key{Interface: bID, Direction: Out, RemoteASN: 13335, LocalASN: 64500, IPVersion: 6}, Values{7, 1, 1})

	m.Hand(w0, s0)
	if len(*got) != 0 {
		t.Fatalf("batch emitted before every worker handed its shard: %+v", *got)
	}
	m.Hand(w1, s1)
	if len(*got) != 1 {
		t.Fatalf("got %d batches, want 1", len(*got))
	}
	b := (*got)[0]
	if !strings.HasPrefix(b.ID, "fra1/2026-12-04T16:14:00Z/"+m.Incarnation()+"/1") {
		t.Errorf("batch id %q", b.ID)
	}
	want := &Batch{
		ID:          b.ID,
		CollectorID: "fra1",
		Start:       time.Date(2026, 12, 4, 16, 14, 0, 0, time.UTC),
		Interval:    time.Minute,
		Interfaces: []Interface{
			{Exporter: "e1", Name: "transit", Role: "transit", IfIndex: 1},
			{Exporter: "e1", Name: "ix", Role: "ix", IfIndex: 2},
		},
		Rows: []Row{
			{Interface: 0, RemoteASN: 174, LocalASN: 64500, IPVersion: 4, Bytes: 1501, Packets: 16, Flows: 3},
			{Interface: 1, Direction: Out, RemoteASN: 13335, LocalASN: 64500, IPVersion: 6, Bytes: 7, Packets: 1, Flows: 1},
		},
	}
	if diff := cmp.Diff(b, want); diff != "" {
		t.Errorf("batch (-got +want):\n%s", diff)
	}
}

func TestWorkerAheadCompletesEarlierIntervals(t *testing.T) {
	m, reg, got := testMerger(t, DefaultConfiguration())
	a := reg.Interface(Interface{Exporter: "e", Name: "i", IfIndex: 1})
	w0, w1 := m.AddWorker(), m.AddWorker()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		s := m.NewShard(t0.Add(time.Duration(i) * time.Minute))
		s.Add(Key{Interface: a, RemoteASN: uint32(i + 1)}, Values{1, 1, 1})
		m.Hand(w0, s)
	}
	if len(*got) != 0 {
		t.Fatalf("emitted %d batches while worker 1 has handed nothing", len(*got))
	}
	// Worker 1 was idle for two intervals and hands only its third shard.
	m.Hand(w1, m.NewShard(t0.Add(2*time.Minute)))
	if len(*got) != 3 {
		t.Fatalf("got %d batches, want 3", len(*got))
	}
	for i, b := range *got {
		if want := t0.Add(time.Duration(i) * time.Minute); !b.Start.Equal(want) {
			t.Errorf("batch %d starts %s, want %s", i, b.Start, want)
		}
		if !strings.HasSuffix(b.ID, "/"+string(rune('1'+i))) {
			t.Errorf("batch %d id %q: seq out of order", i, b.ID)
		}
	}
}

func TestKeyCapKeepsBiggestAndLosesNothing(t *testing.T) {
	cfg := DefaultConfiguration()
	cfg.MaxKeys = 3
	m, reg, got := testMerger(t, cfg)
	a := reg.Interface(Interface{Exporter: "e", Name: "i", IfIndex: 1})
	w0, w1 := m.AddWorker(), m.AddWorker()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s0, s1 := m.NewShard(t0), m.NewShard(t0)
	var total Values
	// Each shard alone stays under its own cap; the merge is over it.
	for as := uint32(1); as <= 3; as++ {
		v := Values{Bytes: uint64(as) * 100, Packets: 1, Flows: 1}
		s0.Add(Key{Interface: a, RemoteASN: as, IPVersion: 4}, v)
		total.add(v)
	}
	for as := uint32(4); as <= 6; as++ {
		v := Values{Bytes: uint64(as) * 100, Packets: 1, Flows: 1}
		s1.Add(Key{Interface: a, RemoteASN: as, IPVersion: 4}, v)
		total.add(v)
	}
	m.Hand(w0, s0)
	m.Hand(w1, s1)
	if len(*got) != 1 {
		t.Fatalf("got %d batches", len(*got))
	}
	var sum Values
	var kept []uint32
	others := 0
	for _, r := range (*got)[0].Rows {
		sum.add(Values{r.Bytes, r.Packets, r.Flows})
		if r.Other {
			others++
			if r.RemoteASN != 0 || r.LocalASN != 0 {
				t.Errorf("other row carries ASNs: %+v", r)
			}
			if r.Bytes != 600 || r.Flows != 3 {
				t.Errorf("other row = %+v, want the three smallest keys (600 bytes, 3 flows)", r)
			}
			continue
		}
		kept = append(kept, r.RemoteASN)
	}
	if sum != total {
		t.Errorf("sum of rows %+v, want %+v", sum, total)
	}
	if diff := cmp.Diff(kept, []uint32{6, 5, 4}); diff != "" {
		t.Errorf("kept keys (-got +want):\n%s", diff)
	}
	if others != 1 {
		t.Errorf("%d other rows, want 1", others)
	}
}

func TestShardCapFoldsIntoOther(t *testing.T) {
	s := NewShard(0, 2, 10)
	for as := uint32(1); as <= 5; as++ {
		s.Add(Key{Interface: 7, Direction: Out, RemoteASN: as, IPVersion: 6}, Values{10, 1, 1})
	}
	if s.Len() != 3 {
		t.Fatalf("shard has %d keys, want 2 + 1 other", s.Len())
	}
	o := s.rows.find(pack(Key{Interface: 7, Direction: Out, IPVersion: 6, Other: true}))
	if o == nil || *o != (Values{30, 3, 3}) {
		t.Errorf("other row = %+v, want {30 3 3}", o)
	}
}

func TestUnclassifiedTopN(t *testing.T) {
	cfg := DefaultConfiguration()
	cfg.MaxUnclassified = 2
	m, reg, got := testMerger(t, cfg)
	e := reg.Exporter("edge1")
	w := m.AddWorker()
	s := m.NewShard(time.Unix(0, 0))
	s.AddUnclassified(UnclassifiedKey{Exporter: e, IfIndex: 99}, Values{Bytes: 5000, Flows: 5})
	s.AddUnclassified(UnclassifiedKey{Exporter: e, IfIndex: 98}, Values{Bytes: 10, Flows: 1})
	s.AddUnclassified(UnclassifiedKey{Exporter: e, IfIndex: 97}, Values{Bytes: 700, Flows: 2})
	m.Hand(w, s)
	want := []Unclassified{{Exporter: "edge1", IfIndex: 99, Bytes: 5000, Flows: 5}, {Exporter: "edge1", IfIndex: 97, Bytes: 700, Flows: 2}}
	if diff := cmp.Diff((*got)[0].Unclassified, want); diff != "" {
		t.Errorf("unclassified (-got +want):\n%s", diff)
	}
}

func TestPartialShardMakesPartialBatch(t *testing.T) {
	m, reg, got := testMerger(t, DefaultConfiguration())
	a := reg.Interface(Interface{Exporter: "e", Name: "i", IfIndex: 1})
	w := m.AddWorker()
	s := m.NewShard(time.Unix(90, 0))
	s.Add(Key{Interface: a, RemoteASN: 1}, Values{1, 1, 1})
	s.Partial = true
	m.Hand(w, s)
	b := (*got)[0]
	if !b.Partial || b.Interval != time.Minute || b.Start.Unix() != 60 {
		t.Errorf("partial batch = start %d interval %s partial %v; want start 60, nominal 1m, partial", b.Start.Unix(), b.Interval, b.Partial)
	}
}

func TestEmptyIntervalsEmitNothing(t *testing.T) {
	m, _, got := testMerger(t, DefaultConfiguration())
	w := m.AddWorker()
	m.Hand(w, m.NewShard(time.Unix(0, 0)))
	m.Hand(w, m.NewShard(time.Unix(60, 0)))
	if len(*got) != 0 {
		t.Errorf("empty intervals emitted %d batches", len(*got))
	}
}

func BenchmarkShardAdd(b *testing.B) {
	s := NewShard(0, 1_000_000, 100)
	keys := make([]Key, 4096)
	for i := range keys {
		keys[i] = Key{Interface: uint32(i % 8), RemoteASN: uint32(i * 7), LocalASN: 64500, IPVersion: 4}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Add(keys[i&4095], Values{1500, 1, 1})
		i++
	}
}

// BenchmarkMillionKeys fills one interval with 1,000,000 distinct keys and
// reports the heap each key costs in the shard, and in the batch built
// from it.
func BenchmarkMillionKeys(b *testing.B) {
	const n = 1_000_000
	b.ReportAllocs()
	var shardBytes, batchBytes float64
	for b.Loop() {
		var before, mid, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := NewShard(0, 2*n, 100)
		for i := range n {
			s.Add(Key{Interface: uint32(i % 16), RemoteASN: uint32(i / 16), LocalASN: 64500, IPVersion: 4}, Values{1500, 1, 1})
		}
		runtime.GC()
		runtime.ReadMemStats(&mid)
		cfg := DefaultConfiguration()
		cfg.MaxKeys = 2 * n
		reg := NewRegistry()
		for i := range 16 {
			reg.Interface(Interface{Exporter: "e", Name: string(rune('a' + i)), IfIndex: uint32(i + 1)})
		}
		m := NewMerger(slog.New(slog.NewTextHandler(io.Discard, nil)), cfg, reg, func(*Batch) {})
		batch := m.build(s, 1)
		runtime.GC()
		runtime.ReadMemStats(&after)
		if len(batch.Rows) != n || s.Len() != n {
			b.Fatalf("%d rows, %d keys", len(batch.Rows), s.Len())
		}
		shardBytes = float64(mid.HeapAlloc-before.HeapAlloc) / n
		batchBytes = float64(after.HeapAlloc-mid.HeapAlloc) / n
		runtime.KeepAlive(s)
		runtime.KeepAlive(batch)
	}
	b.ReportMetric(shardBytes, "shard-bytes/key")
	b.ReportMetric(batchBytes, "batch-bytes/row")
}

func TestStartedMergerBuildsInItsOwnGoroutine(t *testing.T) {
	var got []*Batch
	reg := NewRegistry()
	a := reg.Interface(Interface{Exporter: "e", Name: "i", IfIndex: 1})
	m := NewMerger(slog.New(slog.NewTextHandler(io.Discard, nil)), DefaultConfiguration(), reg, func(b *Batch) { got = append(got, b) })
	m.Start()
	w := m.AddWorker()
	for i := range 3 {
		s := m.NewShard(time.Unix(int64(60*i), 0))
		s.Add(Key{Interface: a, RemoteASN: 1}, Values{1, 1, 1})
		s.Partial = i == 2
		m.Hand(w, s)
	}
	m.Close() // every batch out before Close returns
	if len(got) != 3 || !got[2].Partial {
		t.Fatalf("got %d batches (last partial: %v), want 3 with the last partial", len(got), len(got) > 0 && got[len(got)-1].Partial)
	}
}
