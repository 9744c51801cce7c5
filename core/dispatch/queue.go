package dispatch

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/lastfluss/lastfluss/core/aggregate"
)

// OnFull says what a queue does when a new batch would take it over its size
// limit.
type OnFull string

const (
	// Pause refuses new batches while the queue is at its limit; what is
	// queued stays and goes out in order.
	Pause OnFull = "pause"
	// DropOldest removes the oldest queued batches to make room.
	DropOldest OnFull = "drop_oldest"
)

// QueueConfiguration limits one sink's queue.
type QueueConfiguration struct {
	MaxBytes int64  // size limit of the queued files; 0: DefaultQueueMaxBytes
	OnFull   OnFull // "": Pause
}

// DefaultQueueMaxBytes holds about three days of 10,000-row batches at a 1m
// interval.
const DefaultQueueMaxBytes = 1 << 30

func (c QueueConfiguration) withDefaults() QueueConfiguration {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultQueueMaxBytes
	}
	if c.OnFull == "" {
		c.OnFull = Pause
	}
	return c
}

func (c QueueConfiguration) validate() error {
	if c.MaxBytes < 0 {
		return fmt.Errorf("queue max size %d is negative", c.MaxBytes)
	}
	switch c.OnFull {
	case "", Pause, DropOldest:
		return nil
	}
	return fmt.Errorf("queue on_full %q: want %q or %q", c.OnFull, Pause, DropOldest)
}

// ErrQueueFull is returned by Put when the queue pauses at its limit.
var ErrQueueFull = errors.New("queue full")

// ErrGone is returned by Read when an entry's file has disappeared.
var ErrGone = errors.New("queued file gone")

const (
	batchSuffix   = ".batch"
	corruptSuffix = ".corrupt"
	tempPrefix    = ".tmp-"
	seqFile       = "seq" // highest sequence number used, kept while the queue is empty
)

// Entry is one queued batch file.
type Entry struct {
	Seq  uint64
	Size int64
}

func (e Entry) name() string {
	return fmt.Sprintf("%020d%s", e.Seq, batchSuffix)
}

// Queue is a durable FIFO of encoded batches in one directory, one file per
// batch named by a sequence number that keeps growing across restarts. A
// file is written to a temporary name, synced, renamed and the directory
// synced, so that a crash never leaves half a batch visible. It is safe for
// one writer and one reader goroutine at once.
type Queue struct {
	dir    string
	logger *slog.Logger

	mu       sync.Mutex
	cfg      QueueConfiguration
	entries  []Entry // ascending Seq
	bytes    int64
	lastSeq  uint64
	inFlight uint64 // Seq handed out by Head and not yet removed; 0: none
	ready    chan struct{}
	observe  func(batches int, bytes int64)
}

// OpenQueue opens (creating it if needed) the queue in dir and indexes the
// batches left there. Leftover temporary files of an interrupted write are
// removed.
func OpenQueue(logger *slog.Logger, dir string, cfg QueueConfiguration) (*Queue, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create queue directory %s: %w", dir, err)
	}
	q := &Queue{
		dir:    dir,
		logger: logger,
		cfg:    cfg.withDefaults(),
		ready:  make(chan struct{}, 1),
	}
	dirents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open queue %s: %w", dir, err)
	}
	for _, de := range dirents {
		name := de.Name()
		switch {
		case strings.HasPrefix(name, tempPrefix):
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("remove interrupted write %s: %w", name, err)
			}
		case name == seqFile:
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return nil, fmt.Errorf("open queue %s: %w", dir, err)
			}
			seq, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
			if err != nil {
				logger.Warn("queue sequence file unreadable, using the file names only", "dir", dir, "err", err)
				continue
			}
			q.lastSeq = max(q.lastSeq, seq)
		case strings.HasSuffix(name, batchSuffix), strings.HasSuffix(name, batchSuffix+corruptSuffix):
			seq, err := strconv.ParseUint(name[:strings.Index(name, ".")], 10, 64)
			if err != nil {
				continue // not ours
			}
			q.lastSeq = max(q.lastSeq, seq)
			if strings.HasSuffix(name, corruptSuffix) {
				continue
			}
			info, err := de.Info()
			if err != nil {
				return nil, fmt.Errorf("open queue %s: %w", dir, err)
			}
			q.entries = append(q.entries, Entry{Seq: seq, Size: info.Size()})
			q.bytes += info.Size()
		}
	}
	slices.SortFunc(q.entries, func(a, b Entry) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	return q, nil
}

// Observe has f called, under the queue's lock, with the new length and
// size after every change and once now; it keeps gauges exact.
func (q *Queue) Observe(f func(batches int, bytes int64)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.observe = f
	q.changedLocked()
}

func (q *Queue) changedLocked() {
	if q.observe != nil {
		q.observe(len(q.entries), q.bytes)
	}
}

// SetConfiguration changes the limit and policy; it applies to the next Put.
func (q *Queue) SetConfiguration(cfg QueueConfiguration) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.cfg = cfg.withDefaults()
	return nil
}

// Dir is the queue's directory.
func (q *Queue) Dir() string { return q.dir }

// Len is the number of queued batches.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries)
}

// Bytes is the size of the queued files.
func (q *Queue) Bytes() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

// Entries lists the queued batches, oldest first.
func (q *Queue) Entries() []Entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.entries)
}

// Ready receives a value after a Put; a reader waits on it when the queue is
// empty.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

// PutBatch encodes b and appends it; see Put.
func (q *Queue) PutBatch(b *aggregate.Batch) (dropped []Entry, err error) {
	return q.Put(EncodeBatch(nil, b))
}

// Put appends an encoded batch durably. At the size limit, with Pause it
// returns ErrQueueFull and keeps what it has; with DropOldest it removes the
// oldest batches (never the one being delivered) and returns them. A batch
// larger than the limit on its own is still taken into a queue that has
// nothing else to give up, so that it is not lost.
func (q *Queue) Put(data []byte) (dropped []Entry, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()

	size := int64(len(data))
	if q.bytes+size > q.cfg.MaxBytes {
		switch q.cfg.OnFull {
		case Pause:
			if len(q.entries) > 0 {
				return nil, fmt.Errorf("%w: %d batches, %d bytes queued, limit %d bytes",
					ErrQueueFull, len(q.entries), q.bytes, q.cfg.MaxBytes)
			}
		case DropOldest:
			dropped, err = q.dropOldestLocked(size)
			if err != nil {
				return dropped, err
			}
		}
	}

	e := Entry{Seq: q.lastSeq + 1, Size: size}
	if err := q.writeFile(e.name(), data); err != nil {
		return dropped, err
	}
	q.lastSeq = e.Seq
	q.entries = append(q.entries, e)
	q.bytes += size
	q.changedLocked()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return dropped, nil
}

func (q *Queue) dropOldestLocked(size int64) (dropped []Entry, err error) {
	for i := 0; i < len(q.entries) && q.bytes+size > q.cfg.MaxBytes; {
		e := q.entries[i]
		if e.Seq == q.inFlight {
			i++
			continue
		}
		if err := os.Remove(filepath.Join(q.dir, e.name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return dropped, fmt.Errorf("drop oldest batch %s: %w", e.name(), err)
		}
		q.entries = slices.Delete(q.entries, i, i+1)
		q.bytes -= e.Size
		dropped = append(dropped, e)
		q.changedLocked()
	}
	return dropped, nil
}

// Head returns the oldest batch and marks it as being delivered, so that
// DropOldest leaves it alone until Remove or Release.
func (q *Queue) Head() (Entry, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.entries) == 0 {
		q.inFlight = 0
		return Entry{}, false
	}
	q.inFlight = q.entries[0].Seq
	return q.entries[0], true
}

// Release forgets the mark Head set, for a reader that stops.
func (q *Queue) Release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inFlight = 0
}

// Read loads and decodes a queued batch. A damaged file is renamed to
// <name>.corrupt, leaves the queue, and the error wraps ErrCorrupt; a file
// that vanished leaves the queue with ErrGone.
func (q *Queue) Read(e Entry) (*aggregate.Batch, error) {
	path := filepath.Join(q.dir, e.name())
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		q.forget(e)
		return nil, fmt.Errorf("read %s: %w", path, ErrGone)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	b, err := DecodeBatch(data)
	if err == nil {
		return b, nil
	}
	if mvErr := os.Rename(path, path+corruptSuffix); mvErr != nil {
		return nil, fmt.Errorf("decode %s: %w (and moving it aside failed: %v)", path, err, mvErr)
	}
	q.forget(e)
	return nil, fmt.Errorf("decode %s: %w", path, err)
}

// Remove deletes a batch its sink acknowledged. The entry leaves the queue
// even when deleting its file fails: it would otherwise be delivered again
// and again; a file left behind is delivered once more after a restart,
// which sinks treat as a replay.
func (q *Queue) Remove(e Entry) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.forgetLocked(e)
	if len(q.entries) == 1 && q.entries[0].Seq == e.Seq {
		// Once the directory is empty the file names alone would restart
		// the sequence.
		if err := q.writeFile(seqFile, []byte(strconv.FormatUint(q.lastSeq, 10)+"\n")); err != nil {
			return err
		}
	}
	if err := os.Remove(filepath.Join(q.dir, e.name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove delivered batch %s: %w", e.name(), err)
	}
	return nil
}

func (q *Queue) forget(e Entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.forgetLocked(e)
}

func (q *Queue) forgetLocked(e Entry) {
	if q.inFlight == e.Seq {
		q.inFlight = 0
	}
	i := slices.IndexFunc(q.entries, func(x Entry) bool { return x.Seq == e.Seq })
	if i < 0 {
		return // dropped meanwhile
	}
	q.bytes -= q.entries[i].Size
	q.entries = slices.Delete(q.entries, i, i+1)
	q.changedLocked()
}

// writeFile replaces name in the queue directory atomically and durably.
func (q *Queue) writeFile(name string, data []byte) (err error) {
	f, err := os.CreateTemp(q.dir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("write %s in %s: %w", name, q.dir, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), filepath.Join(q.dir, name)); err != nil {
		return fmt.Errorf("rename %s: %w", f.Name(), err)
	}
	return syncDir(q.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s to sync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
