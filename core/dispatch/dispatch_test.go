package dispatch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// queuedFiles lists the batch files in a sink's queue directory.
func queuedFiles(t *testing.T, stateDir, sink string) []string {
	t.Helper()
	var out []string
	for _, name := range dirNames(t, filepath.Join(stateDir, "queue", sink)) {
		if strings.HasSuffix(name, batchSuffix) {
			out = append(out, name)
		}
	}
	return out
}

func checkCounter(t *testing.T, c prometheus.Collector, want float64) {
	t.Helper()
	if got := testutil.ToFloat64(c); got != want {
		t.Errorf("metric = %v, want %v", got, want)
	}
}

func TestMetricsExistAtZero(t *testing.T) {
	_, reg := startDispatcher(t, testConfiguration(t.TempDir()), Dependencies{
		Enrichers: []NamedEnricher{{Name: "asnames", Enricher: errEnricher{}}},
		Sinks:     []NamedSink{{Name: "db", Sink: newRecordSink()}},
	})
	want := `
# HELP lastfluss_batches_delivered_total Batches a sink acknowledged.
# TYPE lastfluss_batches_delivered_total counter
lastfluss_batches_delivered_total{sink="db"} 0
# HELP lastfluss_batches_dropped_total Batches that will not reach a sink, by reason.
# TYPE lastfluss_batches_dropped_total counter
lastfluss_batches_dropped_total{reason="corrupt",sink="db"} 0
lastfluss_batches_dropped_total{reason="drop_oldest",sink="db"} 0
lastfluss_batches_dropped_total{reason="queue_full",sink="db"} 0
lastfluss_batches_dropped_total{reason="write_error",sink="db"} 0
# HELP lastfluss_enrich_errors_total Enrich calls that failed or missed their deadline; the batch went on without those names.
# TYPE lastfluss_enrich_errors_total counter
lastfluss_enrich_errors_total{enricher="asnames"} 0
# HELP lastfluss_sink_errors_total Failed attempts to deliver a batch to a sink (each is retried).
# TYPE lastfluss_sink_errors_total counter
lastfluss_sink_errors_total{sink="db"} 0
# HELP lastfluss_sink_queue_batches Batches waiting in a sink's durable queue, the one being delivered included.
# TYPE lastfluss_sink_queue_batches gauge
lastfluss_sink_queue_batches{sink="db"} 0
# HELP lastfluss_sink_queue_bytes Size of a sink's durable queue on disk.
# TYPE lastfluss_sink_queue_bytes gauge
lastfluss_sink_queue_bytes{sink="db"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

func TestDeliversInOrderExactlyOnce(t *testing.T) {
	stateDir := t.TempDir()
	sink := newRecordSink()
	d, _ := startDispatcher(t, testConfiguration(stateDir), Dependencies{
		Sinks: []NamedSink{{Name: "db", Sink: sink}},
	})
	var want []*aggregate.Batch
	for i := range 20 {
		b := testBatch(batchID(i), 50+i)
		want = append(want, testBatch(batchID(i), 50+i))
		submit(t, d, b)
	}
	got := sink.wait(t, 20)
	for i := range want {
		diffBatch(t, got[i], want[i])
	}
	if err := d.Stop(time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := len(sink.all()); n != 20 {
		t.Fatalf("sink acknowledged %d batches, want 20", n)
	}
	checkCounter(t, d.metrics.delivered.WithLabelValues("db"), 20)
	checkCounter(t, d.metrics.queueBatches.WithLabelValues("db"), 0)
	checkCounter(t, d.metrics.queueBytes.WithLabelValues("db"), 0)
	if files := queuedFiles(t, stateDir, "db"); len(files) != 0 {
		t.Fatalf("files still queued: %v", files)
	}

	// A restart on the same state directory has nothing to send again:
	// Stop would deliver anything queued before returning.
	again := newRecordSink()
	d2, _ := startDispatcher(t, testConfiguration(stateDir), Dependencies{
		Sinks: []NamedSink{{Name: "db", Sink: again}},
	})
	if err := d2.Stop(time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := ids(again.all()); len(got) != 0 {
		t.Fatalf("delivered again after restart: %v", got)
	}
}

func TestRetriesUntilSuccess(t *testing.T) {
	sink := newFailSink(3)
	d, _ := startDispatcher(t, testConfiguration(t.TempDir()), Dependencies{
		Sinks: []NamedSink{{Name: "db", Sink: sink}},
	})
	submit(t, d, testBatch(batchID(1), 10))
	submit(t, d, testBatch(batchID(2), 10))
	got := sink.wait(t, 2)
	if diff := cmp.Diff(ids(got), []string{batchID(1), batchID(2)}); diff != "" {
		t.Fatalf("delivered (-got +want):\n%s", diff)
	}
	if n := sink.attempts.Load(); n != 5 {
		t.Errorf("%d write attempts, want 5 (3 failures, 2 successes)", n)
	}
	if err := d.Stop(time.Minute); err != nil {
		t.Fatal(err)
	}
	checkCounter(t, d.metrics.sinkErrors.WithLabelValues("db"), 3)
	checkCounter(t, d.metrics.delivered.WithLabelValues("db"), 2)
	st := d.Status()[0]
	if st.Failures != 0 || !strings.Contains(st.LastError, "attempt 3: database unreachable") || st.LastDelivered.IsZero() {
		t.Errorf("Status() = %+v, want the third failure remembered and a delivery after it", st)
	}
}

func TestBadSinkDoesNotHoldBackOthers(t *testing.T) {
	tests := []struct {
		name string
		bad  func() (Sink, func())
	}{
		{"blocking", func() (Sink, func()) { s := newBlockSink(); return s, s.unblock }},
		{"failing", func() (Sink, func()) { return newFailSink(-1), func() {} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad, unblock := tt.bad()
			defer unblock()
			healthy := newRecordSink()
			d, _ := startDispatcher(t, testConfiguration(t.TempDir()), Dependencies{
				Sinks: []NamedSink{{Name: "bad", Sink: bad}, {Name: "healthy", Sink: healthy}},
			})
			var want []string
			for i := range 5 {
				submit(t, d, testBatch(batchID(i), 10))
				want = append(want, batchID(i))
			}
			if diff := cmp.Diff(ids(healthy.wait(t, 5)), want); diff != "" {
				t.Fatalf("healthy sink got (-got +want):\n%s", diff)
			}
			checkCounter(t, d.metrics.queueBatches.WithLabelValues("bad"), 5)
			st := d.Status()
			if len(st) != 2 || st[0].Name != "bad" || st[0].QueuedBatches != 5 || st[1].Name != "healthy" {
				t.Errorf("Status() = %+v, want bad with 5 queued, then healthy", st)
			}
			// The healthy worker has acknowledged all: Stop(0) cannot
			// interrupt it any more, and its bookkeeping is done after.
			if err := d.Stop(0); err != nil {
				t.Fatal(err)
			}
			checkCounter(t, d.metrics.delivered.WithLabelValues("bad"), 0)
			checkCounter(t, d.metrics.delivered.WithLabelValues("healthy"), 5)
			checkCounter(t, d.metrics.queueBatches.WithLabelValues("healthy"), 0)
			checkCounter(t, d.metrics.queueBatches.WithLabelValues("bad"), 5)
		})
	}
}

func TestBlockedSinkCatchesUpInOrder(t *testing.T) {
	sink := newBlockSink()
	d, _ := startDispatcher(t, testConfiguration(t.TempDir()), Dependencies{
		Sinks: []NamedSink{{Name: "slow", Sink: sink}},
	})
	var want []string
	for i := range 5 {
		submit(t, d, testBatch(batchID(i), 10))
		want = append(want, batchID(i))
	}
	if id := <-sink.entered; id != batchID(0) {
		t.Fatalf("first write of %s, want %s", id, batchID(0))
	}
	sink.unblock()
	if diff := cmp.Diff(ids(sink.wait(t, 5)), want); diff != "" {
		t.Fatalf("delivered (-got +want):\n%s", diff)
	}
}

func TestStopDrainsWithinTimeout(t *testing.T) {
	sink := newFailSink(2)
	d, _ := startDispatcher(t, testConfiguration(t.TempDir()), Dependencies{
		Sinks: []NamedSink{{Name: "db", Sink: sink}},
	})
	for i := range 3 {
		submit(t, d, testBatch(batchID(i), 10))
	}
	if err := d.Stop(time.Minute); err != nil {
		t.Fatal(err)
	}
	// Stop returned after the retries delivered everything.
	if diff := cmp.Diff(ids(sink.all()), []string{batchID(0), batchID(1), batchID(2)}); diff != "" {
		t.Fatalf("delivered by Stop (-got +want):\n%s", diff)
	}
}

func TestUndeliveredGoOutAfterRestart(t *testing.T) {
	stateDir := t.TempDir()
	dead := newFailSink(-1)
	d, _ := startDispatcher(t, testConfiguration(stateDir), Dependencies{
		Sinks: []NamedSink{{Name: "db", Sink: dead}},
	})
	var want []*aggregate.Batch
	for i := range 3 {
		b := testBatch(batchID(i), 100)
		b.Partial = i == 2 // the partial interval closed at shutdown
		want = append(want, testBatch(batchID(i), 100))
		want[i].Partial = b.Partial
		submit(t, d, b)
	}
	if err := d.Stop(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if files := queuedFiles(t, stateDir, "db"); len(files) != 3 {
		t.Fatalf("queued files after Stop: %v, want 3", files)
	}
	checkCounter(t, d.metrics.queueBatches.WithLabelValues("db"), 3)

	alive := newRecordSink()
	d2, _ := startDispatcher(t, testConfiguration(stateDir), Dependencies{
		Sinks: []NamedSink{{Name: "db", Sink: alive}},
	})
	got := alive.wait(t, 3)
	for i := range want {
		diffBatch(t, got[i], want[i])
	}
	if err := d2.Stop(time.Minute); err != nil {
		t.Fatal(err)
	}
	if files := queuedFiles(t, stateDir, "db"); len(files) != 0 {
		t.Fatalf("files still queued: %v", files)
	}
	checkCounter(t, d2.metrics.delivered.WithLabelValues("db"), 3)
}

func TestQueueLimit(t *testing.T) {
	size := int64(len(EncodeBatch(nil, testBatch(batchID(0), 100))))
	tests := []struct {
		name      string
		queue     QueueConfiguration
		reason    string
		delivered []string
	}{
		{
			// Batch 0 is being written; 1 and 2 fit beside it; 3 and 4 are
			// refused.
			name:      "pause",
			queue:     QueueConfiguration{MaxBytes: 3*size + size/2, OnFull: Pause},
			reason:    ReasonQueueFull,
			delivered: []string{batchID(0), batchID(1), batchID(2)},
		},
		{
			// Batch 0 is being written and spared; 3 pushes 1 out, 4 pushes 2.
			name:      "drop_oldest",
			queue:     QueueConfiguration{MaxBytes: 3 * size, OnFull: DropOldest},
			reason:    ReasonDropOldest,
			delivered: []string{batchID(0), batchID(3), batchID(4)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := newBlockSink()
			defer sink.unblock()
			d, _ := startDispatcher(t, testConfiguration(t.TempDir()), Dependencies{
				Sinks: []NamedSink{{Name: "db", Sink: sink, Queue: tt.queue}},
			})
			submit(t, d, testBatch(batchID(0), 100))
			<-sink.entered
			for i := 1; i < 5; i++ {
				submit(t, d, testBatch(batchID(i), 100))
			}
			checkCounter(t, d.metrics.dropped.WithLabelValues("db", tt.reason), 2)
			checkCounter(t, d.metrics.queueBatches.WithLabelValues("db"), float64(len(tt.delivered)))

			sink.unblock()
			if diff := cmp.Diff(ids(sink.wait(t, len(tt.delivered))), tt.delivered); diff != "" {
				t.Fatalf("delivered (-got +want):\n%s", diff)
			}
			if err := d.Stop(time.Minute); err != nil {
				t.Fatal(err)
			}
			if n := len(sink.all()); n != len(tt.delivered) {
				t.Fatalf("%d batches delivered in all, want %d", n, len(tt.delivered))
			}
		})
	}
}

func TestCorruptQueueFileMovedAside(t *testing.T) {
	stateDir := t.TempDir()
	q := openQueue(t, filepath.Join(stateDir, "queue", "db"), QueueConfiguration{})
	for i := range 3 {
		put(t, q, testBatch(batchID(i), 10))
	}
	damaged := filepath.Join(q.Dir(), "00000000000000000002.batch")
	if err := os.WriteFile(damaged, []byte("LFQBATCH\x01\x00 the rest was lost"), 0o600); err != nil {
		t.Fatal(err)
	}

	sink := newRecordSink()
	d, _ := startDispatcher(t, testConfiguration(stateDir), Dependencies{
		Sinks: []NamedSink{{Name: "db", Sink: sink}},
	})
	if diff := cmp.Diff(ids(sink.wait(t, 2)), []string{batchID(0), batchID(2)}); diff != "" {
		t.Fatalf("delivered (-got +want):\n%s", diff)
	}
	if err := d.Stop(time.Minute); err != nil {
		t.Fatal(err)
	}
	checkCounter(t, d.metrics.dropped.WithLabelValues("db", ReasonCorrupt), 1)
	if _, err := os.Stat(damaged + corruptSuffix); err != nil {
		t.Fatalf("damaged file not moved aside: %v", err)
	}
}

func TestEnrich(t *testing.T) {
	cogent := aggregate.ASInfo{Name: "COGENT-174", Description: "Cogent Communications", Country: "US"}
	dtag := aggregate.ASInfo{Name: "DTAG", Country: "DE"}
	google := aggregate.ASInfo{Name: "GOOGLE", Country: "US"}
	otherDtag := aggregate.ASInfo{Name: "DTAG-SECOND-OPINION"}

	// Rows: 174 and 3320 remote, 15169 local, an AS 0 and an overflow row
	// whose ASNs must not be asked about.
	batch := func() *aggregate.Batch {
		b := testBatch(batchID(1), 0)
		b.Rows = []aggregate.Row{
			{Interface: 0, RemoteASN: 174, LocalASN: 15169, IPVersion: 4, Bytes: 1},
			{Interface: 1, RemoteASN: 3320, LocalASN: 0, IPVersion: 6, Bytes: 2},
			{Interface: 1, RemoteASN: 174, LocalASN: 15169, IPVersion: 6, Bytes: 3},
			{Interface: 2, RemoteASN: 65001, LocalASN: 65002, Other: true, Bytes: 4},
		}
		return b
	}
	wantAsked := []uint32{174, 3320, 15169}

	tests := []struct {
		name       string
		enrichers  func(release chan struct{}) []NamedEnricher
		wantNames  map[uint32]aggregate.ASInfo
		wantErrors map[string]float64
	}{
		{
			name: "first enricher wins",
			enrichers: func(chan struct{}) []NamedEnricher {
				return []NamedEnricher{
					{Name: "first", Enricher: &mapEnricher{names: map[uint32]aggregate.ASInfo{174: cogent, 3320: dtag}}},
					{Name: "second", Enricher: &mapEnricher{names: map[uint32]aggregate.ASInfo{3320: otherDtag, 15169: google}}},
				}
			},
			wantNames:  map[uint32]aggregate.ASInfo{174: cogent, 3320: dtag, 15169: google},
			wantErrors: map[string]float64{"first": 0, "second": 0},
		},
		{
			name: "failing enricher",
			enrichers: func(chan struct{}) []NamedEnricher {
				return []NamedEnricher{
					{Name: "broken", Enricher: errEnricher{}},
					{Name: "file", Enricher: &mapEnricher{names: map[uint32]aggregate.ASInfo{174: cogent}}},
				}
			},
			wantNames:  map[uint32]aggregate.ASInfo{174: cogent},
			wantErrors: map[string]float64{"broken": 1, "file": 0},
		},
		{
			name: "enricher past its deadline",
			enrichers: func(release chan struct{}) []NamedEnricher {
				return []NamedEnricher{
					{Name: "slow", Enricher: stuckEnricher{release}},
					{Name: "file", Enricher: &mapEnricher{names: map[uint32]aggregate.ASInfo{15169: google}}},
				}
			},
			wantNames:  map[uint32]aggregate.ASInfo{15169: google},
			wantErrors: map[string]float64{"slow": 1, "file": 0},
		},
		{
			name: "no names at all",
			enrichers: func(release chan struct{}) []NamedEnricher {
				return []NamedEnricher{
					{Name: "broken", Enricher: errEnricher{}},
					{Name: "slow", Enricher: stuckEnricher{release}},
				}
			},
			wantNames:  nil,
			wantErrors: map[string]float64{"broken": 1, "slow": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			enrichers := tt.enrichers(release)
			sink := newRecordSink()
			d, _ := startDispatcher(t, testConfiguration(t.TempDir()), Dependencies{
				Enrichers: enrichers,
				Sinks:     []NamedSink{{Name: "db", Sink: sink}},
			})
			submit(t, d, batch())
			got := sink.wait(t, 1)[0]

			want := batch()
			want.ASNames = tt.wantNames
			diffBatch(t, got, want)
			if diff := cmp.Diff(d.ASNames(), tt.wantNames, cmpEmptyMap); diff != "" {
				t.Errorf("ASNames() (-got +want):\n%s", diff)
			}
			for name, n := range tt.wantErrors {
				checkCounter(t, d.metrics.enrichErrors.WithLabelValues(name), n)
			}
			for _, e := range enrichers {
				if m, ok := e.Enricher.(*mapEnricher); ok {
					if diff := cmp.Diff(m.asked, [][]uint32{wantAsked}); diff != "" {
						t.Errorf("enricher %s asked about (-got +want):\n%s", e.Name, diff)
					}
				}
			}
		})
	}
}

// cmpEmptyMap treats nil and empty maps alike, for ASNames().
var cmpEmptyMap = cmp.FilterValues(func(a, b map[uint32]aggregate.ASInfo) bool {
	return len(a) == 0 && len(b) == 0
}, cmp.Ignore())

func TestKeepsLatestNames(t *testing.T) {
	names := &mapEnricher{names: map[uint32]aggregate.ASInfo{174: {Name: "COGENT"}}}
	d, _ := startDispatcher(t, testConfiguration(t.TempDir()), Dependencies{
		Enrichers: []NamedEnricher{{Name: "file", Enricher: names}},
	})
	b := &aggregate.Batch{ID: "1", Rows: []aggregate.Row{{RemoteASN: 174, LocalASN: 64500}}}
	// Without a sink the batch is dropped, but the names are kept.
	submit(t, d, b)
	names.names = map[uint32]aggregate.ASInfo{174: {Name: "COGENT-174"}, 64500: {Name: "US"}}
	submit(t, d, &aggregate.Batch{ID: "2", Rows: []aggregate.Row{{RemoteASN: 174, LocalASN: 64500}}})
	want := map[uint32]aggregate.ASInfo{174: {Name: "COGENT-174"}, 64500: {Name: "US"}}
	if diff := cmp.Diff(d.ASNames(), want); diff != "" {
		t.Fatalf("ASNames() (-got +want):\n%s", diff)
	}
	if info, ok := d.ASName(64500); !ok || info.Name != "US" {
		t.Fatalf("ASName(64500) = %+v, %v", info, ok)
	}
	if _, err := os.Stat(filepath.Join(d.cfg.StateDir, "queue")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("queue directory exists without a sink: %v", err)
	}
}

func TestReload(t *testing.T) {
	stateDir := t.TempDir()
	old := newFailSink(-1)
	keep := newRecordSink()
	d, reg := startDispatcher(t, testConfiguration(stateDir), Dependencies{
		Sinks: []NamedSink{{Name: "old", Sink: old}, {Name: "keep", Sink: keep}},
	})
	submit(t, d, testBatch(batchID(0), 10))
	keep.wait(t, 1)

	// "keep" gets a new implementation (a restarted plugin), "new" is added,
	// "old" is removed, an enricher appears.
	keep2 := newRecordSink()
	added := newRecordSink()
	names := &mapEnricher{names: map[uint32]aggregate.ASInfo{64500: {Name: "LOCAL"}}}
	if err := d.Reload(
		[]NamedEnricher{{Name: "file", Enricher: names}},
		[]NamedSink{{Name: "keep", Sink: keep2}, {Name: "new", Sink: added}},
	); err != nil {
		t.Fatal(err)
	}
	attempts := old.attempts.Load()
	submit(t, d, testBatch(batchID(1), 10))
	for _, s := range []*recordSink{keep2, added} {
		got := s.wait(t, 1)[0]
		if got.ID != batchID(1) || got.ASNames[64500].Name != "LOCAL" {
			t.Fatalf("after reload got %s with names %v, want %s named by the new enricher", got.ID, got.ASNames, batchID(1))
		}
	}
	if n := old.attempts.Load(); n != attempts {
		t.Errorf("removed sink written to after Reload returned: %d attempts, then %d", attempts, n)
	}
	if n := len(keep.all()); n != 1 {
		t.Errorf("replaced implementation got %d batches, want 1", n)
	}
	// The removed sink's batch stays on disk for when it comes back.
	if files := queuedFiles(t, stateDir, "old"); len(files) != 1 {
		t.Errorf("removed sink's queue: %v, want one file", files)
	}
	if n := testutil.CollectAndCount(d.metrics.queueBatches); n != 2 {
		t.Errorf("%d queue gauges, want 2 (keep, new)", n)
	}

	// A broken reload changes nothing.
	if err := d.Reload(nil, []NamedSink{{Name: "keep", Sink: keep2}, {Name: "keep", Sink: added}}); err == nil {
		t.Fatal("Reload with a sink named twice succeeded")
	}
	if err := d.Reload(nil, []NamedSink{{Name: "../escape", Sink: keep2}}); err == nil {
		t.Fatal("Reload with a sink name that leaves the queue directory succeeded")
	}
	submit(t, d, testBatch(batchID(2), 10))
	for _, s := range []*recordSink{keep2, added} {
		if got := s.wait(t, 1)[0]; got.ID != batchID(2) {
			t.Fatalf("after a failed reload got %s, want %s", got.ID, batchID(2))
		}
	}

	// The removed sink comes back and gets its queued batch first.
	back := newRecordSink()
	if err := d.Reload(nil, []NamedSink{{Name: "old", Sink: back}}); err != nil {
		t.Fatal(err)
	}
	submit(t, d, testBatch(batchID(3), 10))
	if diff := cmp.Diff(ids(back.wait(t, 2)), []string{batchID(0), batchID(3)}); diff != "" {
		t.Fatalf("returning sink got (-got +want):\n%s", diff)
	}
	if err := d.Stop(time.Minute); err != nil {
		t.Fatal(err)
	}
	// Counters of removed sinks stay; only configured sinks have gauges.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP lastfluss_batches_delivered_total Batches a sink acknowledged.
# TYPE lastfluss_batches_delivered_total counter
lastfluss_batches_delivered_total{sink="keep"} 3
lastfluss_batches_delivered_total{sink="new"} 2
lastfluss_batches_delivered_total{sink="old"} 2
# HELP lastfluss_sink_queue_batches Batches waiting in a sink's durable queue, the one being delivered included.
# TYPE lastfluss_sink_queue_batches gauge
lastfluss_sink_queue_batches{sink="old"} 0
`), "lastfluss_batches_delivered_total", "lastfluss_sink_queue_batches"); err != nil {
		t.Error(err)
	}
}

func TestSubmitOutsideStartStop(t *testing.T) {
	stateDir := t.TempDir()
	sink := newRecordSink()
	d, err := New(testLogger(t), testConfiguration(stateDir), Dependencies{Sinks: []NamedSink{{Name: "db", Sink: sink}}})
	if err != nil {
		t.Fatal(err)
	}
	d.Submit(testBatch("early", 1)) // logged and dropped: no queue is open yet
	d.Flush()
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	submit(t, d, testBatch("running", 1))
	if err := d.Stop(time.Minute); err != nil {
		t.Fatal(err)
	}
	d.Submit(testBatch("late", 1))
	d.Flush()
	if diff := cmp.Diff(ids(sink.all()), []string{"running"}); diff != "" {
		t.Fatalf("delivered (-got +want):\n%s", diff)
	}
	if files := queuedFiles(t, stateDir, "db"); len(files) != 0 {
		t.Fatalf("queued after Stop: %v", files)
	}
}

// Submit must not wait for enrichment: the aggregation stage calls it from
// a collector worker.
func TestSubmitDoesNotWaitForEnrichers(t *testing.T) {
	release := make(chan struct{})
	cfg := testConfiguration(t.TempDir())
	cfg.EnrichTimeout = time.Hour // only the release ends the call
	sink := newRecordSink()
	d, _ := startDispatcher(t, cfg, Dependencies{
		Enrichers: []NamedEnricher{{Name: "slow", Enricher: gateEnricher{release}}},
		Sinks:     []NamedSink{{Name: "db", Sink: sink}},
	})
	for i := range 3 {
		d.Submit(testBatch(batchID(i), 10)) // would block here if it enriched
	}
	close(release)
	if diff := cmp.Diff(ids(sink.wait(t, 3)), []string{batchID(0), batchID(1), batchID(2)}); diff != "" {
		t.Fatalf("delivered (-got +want):\n%s", diff)
	}
}

// Stop queues what was submitted before it, the partial interval closed at
// shutdown included, and delivers it.
func TestStopQueuesTheBacklog(t *testing.T) {
	release := make(chan struct{})
	cfg := testConfiguration(t.TempDir())
	cfg.EnrichTimeout = time.Hour
	sink := newRecordSink()
	d, _ := startDispatcher(t, cfg, Dependencies{
		Enrichers: []NamedEnricher{{Name: "slow", Enricher: gateEnricher{release}}},
		Sinks:     []NamedSink{{Name: "db", Sink: sink}},
	})
	d.Submit(testBatch(batchID(0), 10))
	partial := testBatch(batchID(1), 10)
	partial.Partial = true
	d.Submit(partial)
	stopped := make(chan error)
	go func() { stopped <- d.Stop(time.Minute) }()
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	got := sink.all()
	if diff := cmp.Diff(ids(got), []string{batchID(0), batchID(1)}); diff != "" {
		t.Fatalf("delivered by Stop (-got +want):\n%s", diff)
	}
	if !got[1].Partial {
		t.Fatal("partial flag lost")
	}
}

func TestNewRejects(t *testing.T) {
	sink := newRecordSink()
	tests := []struct {
		name string
		cfg  func(Configuration) Configuration
		deps Dependencies
	}{
		{"no state dir", func(c Configuration) Configuration { c.StateDir = ""; return c }, Dependencies{}},
		{"bad policy", func(c Configuration) Configuration { c.Queue.OnFull = "block"; return c }, Dependencies{}},
		{"sink twice", nil, Dependencies{Sinks: []NamedSink{{Name: "a", Sink: sink}, {Name: "a", Sink: sink}}}},
		{"sink path", nil, Dependencies{Sinks: []NamedSink{{Name: "a/b", Sink: sink}}}},
		{"sink without implementation", nil, Dependencies{Sinks: []NamedSink{{Name: "a"}}}},
		{"bad sink policy", nil, Dependencies{Sinks: []NamedSink{{Name: "a", Sink: sink, Queue: QueueConfiguration{OnFull: "x"}}}}},
		{"enricher twice", nil, Dependencies{Enrichers: []NamedEnricher{{Name: "e", Enricher: errEnricher{}}, {Name: "e", Enricher: errEnricher{}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfiguration(t.TempDir())
			if tt.cfg != nil {
				cfg = tt.cfg(cfg)
			}
			if _, err := New(testLogger(t), cfg, tt.deps); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestStartOnUnwritableStateDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := New(testLogger(t), testConfiguration(file), Dependencies{Sinks: []NamedSink{{Name: "db", Sink: newRecordSink()}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err == nil {
		t.Fatal("Start with a file as state directory succeeded")
	}
}

func TestMillionRowBatchReachesEverySink(t *testing.T) {
	sinks := []*recordSink{newRecordSink(), newRecordSink()}
	d, _ := startDispatcher(t, testConfiguration(t.TempDir()), Dependencies{
		Enrichers: []NamedEnricher{{Name: "file", Enricher: &mapEnricher{names: map[uint32]aggregate.ASInfo{
			64500: {Name: "LOCAL-A"}, 64501: {Name: "LOCAL-B"}, 64502: {Name: "LOCAL-C"},
		}}}},
		Sinks: []NamedSink{{Name: "a", Sink: sinks[0]}, {Name: "b", Sink: sinks[1]}},
	})
	d.Submit(testBatch(batchID(1), 1_000_000))
	want := testBatch(batchID(1), 1_000_000)
	want.ASNames = map[uint32]aggregate.ASInfo{64500: {Name: "LOCAL-A"}, 64501: {Name: "LOCAL-B"}, 64502: {Name: "LOCAL-C"}}
	for _, s := range sinks {
		diffBatch(t, s.wait(t, 1)[0], want)
	}
}
