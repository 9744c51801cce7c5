package aggregate

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Configuration of the aggregation stage.
type Configuration struct {
	CollectorID     string
	Interval        time.Duration
	MaxKeys         int // distinct keys per interval; the excess goes to Other rows
	MaxUnclassified int // unclassified (exporter, ifIndex) pairs kept per batch, by bytes
}

func DefaultConfiguration() Configuration {
	return Configuration{Interval: time.Minute, MaxKeys: 1_000_000, MaxUnclassified: 20}
}

// IntervalStart returns the start of the interval t falls in, in Unix
// seconds: intervals are aligned to the epoch.
func IntervalStart(t time.Time, interval time.Duration) int64 {
	s := int64(interval / time.Second)
	u := t.Unix()
	return u - u%s
}

// Merger collects the workers' shards and emits one Batch per interval once
// every worker has handed over its shard for it.
type Merger struct {
	logger      *slog.Logger
	cfg         Configuration
	reg         *Registry
	out         func(*Batch)
	incarnation string

	mu      sync.Mutex
	seq     uint64
	last    []int64 // per worker: start of the last shard it handed over
	pending map[int64]*Shard

	queue chan handed // after Start: shards waiting for the merging goroutine
	done  chan struct{}
}

type handed struct {
	worker int
	s      *Shard
}

// NewMerger returns a merger that calls out with each closed batch, in
// interval order: from the goroutine of the worker completing an interval,
// or after Start from the merger's own.
func NewMerger(logger *slog.Logger, cfg Configuration, reg *Registry, out func(*Batch)) *Merger {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &Merger{
		logger:      logger,
		cfg:         cfg,
		reg:         reg,
		out:         out,
		incarnation: hex.EncodeToString(b),
		pending:     make(map[int64]*Shard),
	}
}

// Incarnation is the random part of this process's batch ids.
func (m *Merger) Incarnation() string { return m.incarnation }

// AddWorker registers a worker before it hands its first shard.
func (m *Merger) AddWorker() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = append(m.last, -1)
	return len(m.last) - 1
}

// NewShard returns an empty shard for the interval containing t.
func (m *Merger) NewShard(t time.Time) *Shard {
	return NewShard(IntervalStart(t, m.cfg.Interval), m.cfg.MaxKeys, 4*m.cfg.MaxUnclassified+64)
}

// Start moves merging and building batches to a goroutine of the merger's
// own: with a million keys, building a batch takes most of a second, which
// a worker cannot spend away from its socket. Without Start, Hand merges in
// the caller's goroutine (tests).
func (m *Merger) Start() {
	m.queue = make(chan handed, 1024)
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		for h := range m.queue {
			m.hand(h.worker, h.s)
		}
	}()
}

// Close waits until every shard handed over is merged and its batch given
// to out. Hand must not be called after Close.
func (m *Merger) Close() {
	if m.queue != nil {
		close(m.queue)
		<-m.done
	}
}

// Hand takes over a worker's shard. Workers hand shards in interval order,
// one per interval they lived through (empty ones too), the last one with
// Partial set at shutdown.
func (m *Merger) Hand(worker int, s *Shard) {
	s.flush() // in the owner's goroutine
	if m.queue != nil {
		m.queue <- handed{worker, s}
		return
	}
	m.hand(worker, s)
}

func (m *Merger) hand(worker int, s *Shard) {
	var ready []*Shard
	m.mu.Lock()
	if p, ok := m.pending[s.Start]; ok {
		p.merge(s)
	} else {
		m.pending[s.Start] = s
	}
	m.last[worker] = s.Start
	done := s.Start
	for _, l := range m.last {
		done = min(done, l)
	}
	// An interval is complete once every worker has moved past or handed it.
	for start, p := range m.pending {
		if start <= done {
			ready = append(ready, p)
			delete(m.pending, start)
		}
	}
	slices.SortFunc(ready, func(a, b *Shard) int { return cmp.Compare(a.Start, b.Start) })
	batches := make([]*Batch, 0, len(ready))
	for _, p := range ready {
		if p.rows.n == 0 && len(p.unclassified) == 0 {
			continue
		}
		m.seq++
		batches = append(batches, m.build(p, m.seq))
	}
	m.mu.Unlock()
	for _, b := range batches {
		m.out(b)
	}
}

// build turns a merged shard into a batch: the cap applied (biggest keys
// kept, the rest folded into Other rows), ids replaced by dictionaries.
func (m *Merger) build(s *Shard, seq uint64) *Batch {
	ifaces, exporters := m.reg.snapshot()
	start := time.Unix(s.Start, 0).UTC()
	b := &Batch{
		ID:          fmt.Sprintf("%s/%s/%s/%d", m.cfg.CollectorID, start.Format(time.RFC3339), m.incarnation, seq),
		CollectorID: m.cfg.CollectorID,
		Start:       start,
		Interval:    m.cfg.Interval,
		Partial:     s.Partial,
	}

	type kv struct {
		k Key
		v Values
	}
	rows := make([]kv, 0, s.rows.n)
	s.rows.each(func(k Key, v Values) { rows = append(rows, kv{k, v}) })
	// Biggest first, then a total order so batches are deterministic.
	slices.SortFunc(rows, func(a, b kv) int {
		if c := cmp.Compare(b.v.Bytes, a.v.Bytes); c != 0 {
			return c
		}
		return cmpKey(a.k, b.k)
	})
	var kept []kv
	other := make(map[Key]*Values)
	n := 0
	for _, r := range rows {
		if !r.k.Other && n < m.cfg.MaxKeys {
			kept = append(kept, r)
			n++
			continue
		}
		ok := Key{Interface: r.k.Interface, Direction: r.k.Direction, IPVersion: r.k.IPVersion, Other: true}
		if p, found := other[ok]; found {
			p.add(r.v)
		} else {
			v := r.v
			other[ok] = &v
		}
	}
	for k, v := range other {
		kept = append(kept, kv{k, *v})
	}

	// Dictionary of the interfaces this batch uses, in first-use order.
	local := make(map[uint32]uint32)
	b.Rows = make([]Row, 0, len(kept))
	for _, r := range kept {
		id, ok := local[r.k.Interface]
		if !ok {
			id = uint32(len(b.Interfaces))
			local[r.k.Interface] = id
			b.Interfaces = append(b.Interfaces, ifaces[r.k.Interface])
		}
		b.Rows = append(b.Rows, Row{
			Interface: id,
			Direction: r.k.Direction,
			RemoteASN: r.k.RemoteASN,
			LocalASN:  r.k.LocalASN,
			IPVersion: r.k.IPVersion,
			Other:     r.k.Other,
			Bytes:     r.v.Bytes,
			Packets:   r.v.Packets,
			Flows:     r.v.Flows,
		})
	}

	for k, v := range s.unclassified {
		b.Unclassified = append(b.Unclassified, Unclassified{Exporter: exporters[k.Exporter], IfIndex: k.IfIndex, Bytes: v.Bytes, Flows: v.Flows})
	}
	slices.SortFunc(b.Unclassified, func(x, y Unclassified) int {
		if c := cmp.Compare(y.Bytes, x.Bytes); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Exporter, y.Exporter); c != 0 {
			return c
		}
		return cmp.Compare(x.IfIndex, y.IfIndex)
	})
	if len(b.Unclassified) > m.cfg.MaxUnclassified {
		b.Unclassified = b.Unclassified[:m.cfg.MaxUnclassified]
	}
	if len(other) > 0 {
		m.logger.Warn("more keys in one interval than max_keys: the excess is in other rows",
			"batch", b.ID, "keys", s.rows.n, "max_keys", m.cfg.MaxKeys)
	}
	return b
}

func cmpKey(a, b Key) int {
	return cmp.Or(
		cmp.Compare(a.Interface, b.Interface),
		cmp.Compare(a.Direction, b.Direction),
		cmp.Compare(a.RemoteASN, b.RemoteASN),
		cmp.Compare(a.LocalASN, b.LocalASN),
		cmp.Compare(a.IPVersion, b.IPVersion),
	)
}
