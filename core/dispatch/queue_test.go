package dispatch

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lastfluss/lastfluss/core/aggregate"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func openQueue(t *testing.T, dir string, cfg QueueConfiguration) *Queue {
	t.Helper()
	q, err := OpenQueue(discardLogger(), dir, cfg)
	if err != nil {
		t.Fatalf("OpenQueue: %v", err)
	}
	return q
}

func put(t *testing.T, q *Queue, b *aggregate.Batch) []Entry {
	t.Helper()
	dropped, err := q.PutBatch(b)
	if err != nil {
		t.Fatalf("Put %s: %v", b.ID, err)
	}
	return dropped
}

// dirNames lists a directory's files, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// pop reads and removes the head, as a delivering reader does.
func pop(t *testing.T, q *Queue) *aggregate.Batch {
	t.Helper()
	e, ok := q.Head()
	if !ok {
		t.Fatal("queue empty")
	}
	b, err := q.Read(e)
	if err != nil {
		t.Fatalf("Read %d: %v", e.Seq, err)
	}
	if err := q.Remove(e); err != nil {
		t.Fatalf("Remove %d: %v", e.Seq, err)
	}
	return b
}

func TestQueueOrderSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, QueueConfiguration{})
	var want []*aggregate.Batch
	for i := range 5 {
		b := testBatch(batchID(i), 10+i)
		want = append(want, b)
		put(t, q, b)
	}

	q = openQueue(t, dir, QueueConfiguration{})
	if got := q.Len(); got != 5 {
		t.Fatalf("reopened queue has %d batches, want 5", got)
	}
	var size int64
	for _, e := range q.Entries() {
		size += e.Size
	}
	if q.Bytes() != size {
		t.Errorf("Bytes() = %d, entries add up to %d", q.Bytes(), size)
	}
	for i := range want {
		diffBatch(t, pop(t, q), want[i])
	}
	if _, ok := q.Head(); ok {
		t.Error("queue not empty after popping everything")
	}
	if diff := cmp.Diff(dirNames(t, dir), []string{seqFile}); diff != "" {
		t.Errorf("files left (-got +want):\n%s", diff)
	}
}

func TestQueueSequenceSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, QueueConfiguration{})
	put(t, q, testBatch("a", 1))
	put(t, q, testBatch("b", 1))
	pop(t, q)
	pop(t, q)

	// Empty directory but for the sequence file: numbering goes on.
	q = openQueue(t, dir, QueueConfiguration{})
	put(t, q, testBatch("c", 1))
	if diff := cmp.Diff(dirNames(t, dir), []string{"00000000000000000003.batch", seqFile}); diff != "" {
		t.Fatalf("files (-got +want):\n%s", diff)
	}

	// A corrupt file moved aside still counts: its number is not reused.
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000009.batch.corrupt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	q = openQueue(t, dir, QueueConfiguration{})
	put(t, q, testBatch("d", 1))
	if got := q.Entries(); got[len(got)-1].Seq != 10 {
		t.Fatalf("entries %v, want the last at seq 10", got)
	}
}

func TestQueueRemovesInterruptedWrites(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, QueueConfiguration{})
	put(t, q, testBatch("a", 1))
	// What a crash between write and rename leaves.
	if err := os.WriteFile(filepath.Join(dir, tempPrefix+"123"), []byte("half a batch"), 0o600); err != nil {
		t.Fatal(err)
	}
	q = openQueue(t, dir, QueueConfiguration{})
	if diff := cmp.Diff(dirNames(t, dir), []string{"00000000000000000001.batch"}); diff != "" {
		t.Fatalf("files (-got +want):\n%s", diff)
	}
	if q.Len() != 1 {
		t.Fatalf("Len() = %d, want 1", q.Len())
	}
}

func TestQueuePause(t *testing.T) {
	size := int64(len(EncodeBatch(nil, testBatch(batchID(0), 100))))
	q := openQueue(t, t.TempDir(), QueueConfiguration{MaxBytes: 2*size + size/2, OnFull: Pause})
	put(t, q, testBatch(batchID(0), 100))
	put(t, q, testBatch(batchID(1), 100))
	dropped, err := q.PutBatch(testBatch(batchID(2), 100))
	if !errors.Is(err, ErrQueueFull) || dropped != nil {
		t.Fatalf("third Put = %v, %v; want ErrQueueFull", dropped, err)
	}
	if q.Len() != 2 || q.Bytes() != 2*size {
		t.Fatalf("queue holds %d batches, %d bytes; want 2, %d", q.Len(), q.Bytes(), 2*size)
	}
	// Room again once one is delivered.
	pop(t, q)
	put(t, q, testBatch(batchID(3), 100))
	var ids []string
	for q.Len() > 0 {
		ids = append(ids, pop(t, q).ID)
	}
	if diff := cmp.Diff(ids, []string{batchID(1), batchID(3)}); diff != "" {
		t.Fatalf("queued (-got +want):\n%s", diff)
	}
}

func TestQueueDropOldest(t *testing.T) {
	size := int64(len(EncodeBatch(nil, testBatch(batchID(0), 100))))
	q := openQueue(t, t.TempDir(), QueueConfiguration{MaxBytes: 3 * size, OnFull: DropOldest})
	for i := range 3 {
		put(t, q, testBatch(batchID(i), 100))
	}
	// Nothing in flight: the oldest goes.
	if dropped := put(t, q, testBatch(batchID(3), 100)); len(dropped) != 1 || dropped[0].Seq != 1 {
		t.Fatalf("dropped %v, want seq 1", dropped)
	}
	// The head being delivered is spared; the next oldest goes.
	head, _ := q.Head()
	if dropped := put(t, q, testBatch(batchID(4), 100)); len(dropped) != 1 || dropped[0].Seq != 3 {
		t.Fatalf("dropped %v, want seq 3 (head %d in flight)", dropped, head.Seq)
	}
	var seqs []uint64
	for _, e := range q.Entries() {
		seqs = append(seqs, e.Seq)
	}
	if diff := cmp.Diff(seqs, []uint64{2, 4, 5}); diff != "" {
		t.Fatalf("queued seqs (-got +want):\n%s", diff)
	}
	if n := len(dirNames(t, q.Dir())); n != 3 {
		t.Fatalf("%d files on disk, want 3", n)
	}
}

func TestQueueOversizedBatch(t *testing.T) {
	for _, policy := range []OnFull{Pause, DropOldest} {
		t.Run(string(policy), func(t *testing.T) {
			q := openQueue(t, t.TempDir(), QueueConfiguration{MaxBytes: 10, OnFull: policy})
			// Alone, a batch larger than the limit is kept rather than lost.
			put(t, q, testBatch("big", 100))
			if q.Len() != 1 {
				t.Fatalf("Len() = %d, want 1", q.Len())
			}
		})
	}
}

func TestQueueCorruptFileMovedAside(t *testing.T) {
	tests := []struct {
		name   string
		damage func(data []byte) []byte
	}{
		{"empty file", func([]byte) []byte { return nil }},
		{"truncated", func(d []byte) []byte { return d[:len(d)/2] }},
		{"flipped byte", func(d []byte) []byte { d[len(d)/3] ^= 0xff; return d }},
		{"garbage", func([]byte) []byte { return []byte("not a batch at all, but long enough") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q := openQueue(t, dir, QueueConfiguration{})
			for i := range 3 {
				put(t, q, testBatch(batchID(i), 20))
			}
			path := filepath.Join(dir, "00000000000000000002.batch")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tt.damage(data), 0o600); err != nil {
				t.Fatal(err)
			}

			q = openQueue(t, dir, QueueConfiguration{})
			if got := pop(t, q).ID; got != batchID(0) {
				t.Fatalf("first batch %s, want %s", got, batchID(0))
			}
			e, _ := q.Head()
			if _, err := q.Read(e); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Read of the damaged file: %v, want ErrCorrupt", err)
			}
			if got := pop(t, q).ID; got != batchID(2) {
				t.Fatalf("batch after the damaged one %s, want %s", got, batchID(2))
			}
			if diff := cmp.Diff(dirNames(t, dir), []string{"00000000000000000002.batch.corrupt", seqFile}); diff != "" {
				t.Fatalf("files (-got +want):\n%s", diff)
			}
		})
	}
}

func TestQueueObserve(t *testing.T) {
	q := openQueue(t, t.TempDir(), QueueConfiguration{})
	var seen [][2]int64
	q.Observe(func(n int, bytes int64) { seen = append(seen, [2]int64{int64(n), bytes}) })
	put(t, q, testBatch("a", 5))
	size := q.Bytes()
	pop(t, q)
	want := [][2]int64{{0, 0}, {1, size}, {0, 0}}
	if diff := cmp.Diff(seen, want); diff != "" {
		t.Fatalf("observed (-got +want):\n%s", diff)
	}
}

func TestQueueConfigurationRejected(t *testing.T) {
	for _, cfg := range []QueueConfiguration{{MaxBytes: -1}, {OnFull: "block"}} {
		if _, err := OpenQueue(discardLogger(), t.TempDir(), cfg); err == nil {
			t.Errorf("OpenQueue(%+v) accepted it", cfg)
		}
	}
}
