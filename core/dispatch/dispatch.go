// Package dispatch takes each closed interval's batch to the plugins: it is
// enriched once (AS names, each enricher with a deadline), then written into
// one durable queue per sink under <state_dir>/queue/<sink>, and leaves a
// queue only when that sink acknowledged it. One goroutine per sink delivers
// its queue in order and retries with backoff, so a slow or dead sink holds
// back only its own queue.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/prometheus/client_golang/prometheus"
)

// Sink stores batches. Write returns nil once the batch is stored for good
// (the acknowledgement); it must return when ctx is done and must not change
// the batch, which a failed write is retried with. A sink may be sent a
// batch again after a crash or restart and must treat a known batch ID as
// done.
type Sink interface {
	Write(ctx context.Context, b *aggregate.Batch) error
}

// Enricher says what it knows about ASNs; it leaves out those it does not
// know.
type Enricher interface {
	Enrich(ctx context.Context, asns []uint32) (map[uint32]aggregate.ASInfo, error)
}

// NamedSink is one configured `sink` block.
type NamedSink struct {
	Name string // the block label; also the queue's directory name
	Sink Sink
	// Queue overrides Configuration.Queue for this sink where set.
	Queue QueueConfiguration
}

// NamedEnricher is one configured `enrich` block.
type NamedEnricher struct {
	Name     string
	Enricher Enricher
}

// Configuration of the dispatch stage.
type Configuration struct {
	StateDir      string        // queues live in <StateDir>/queue/<sink name>
	EnrichTimeout time.Duration // deadline of each enricher per batch
	RetryMin      time.Duration // first wait after a failed delivery
	RetryMax      time.Duration // the wait doubles up to this
	Queue         QueueConfiguration
	// StopGrace is how long Stop and Reload wait for a sink's Write to
	// return once its context is cancelled.
	StopGrace time.Duration
}

// DefaultConfiguration is the configuration without a config file's say.
func DefaultConfiguration() Configuration {
	return Configuration{
		EnrichTimeout: 5 * time.Second,
		RetryMin:      time.Second,
		RetryMax:      time.Minute,
		Queue:         QueueConfiguration{MaxBytes: DefaultQueueMaxBytes, OnFull: Pause},
		StopGrace:     5 * time.Second,
	}
}

// Dependencies are what the dispatcher is given to work with.
type Dependencies struct {
	Enrichers  []NamedEnricher // asked in this order
	Sinks      []NamedSink
	Registerer prometheus.Registerer // nil: metrics are kept but not exported
}

type state int

const (
	stateNew state = iota
	stateRunning
	stateStopping
	stateStopped
)

// Dispatcher enriches batches and delivers them to the sinks.
//
// Submit only appends to a backlog, because the aggregation stage calls it
// from a collector worker that must get back to its socket. One intake
// goroutine enriches each batch and writes it into the queues; one goroutine
// per sink delivers that sink's queue.
type Dispatcher struct {
	logger  *slog.Logger
	cfg     Configuration
	metrics *metrics

	// lifeMu serialises Start, Reload and Stop, so that the set of workers
	// does not change under Stop.
	lifeMu sync.Mutex

	mu        sync.Mutex // guards what follows, never held across I/O
	state     state
	enrichers []NamedEnricher
	baseCtx   context.Context
	backlog   []*aggregate.Batch
	submitted uint64     // batches appended to the backlog since New
	processed uint64     // of those, enriched and queued (or dropped)
	progress  *sync.Cond // on mu: processed grew or the intake ended
	wake      chan struct{}
	intakeEnd chan struct{}

	sinksMu sync.Mutex // guards what follows; held while queues are written
	sinks   []NamedSink
	workers map[string]*sinkWorker

	namesMu sync.RWMutex
	names   map[uint32]aggregate.ASInfo
}

// New checks the configuration and registers the metrics. Nothing is read
// from disk before Start.
func New(logger *slog.Logger, cfg Configuration, deps Dependencies) (*Dispatcher, error) {
	def := DefaultConfiguration()
	if cfg.EnrichTimeout <= 0 {
		cfg.EnrichTimeout = def.EnrichTimeout
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = def.RetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(def.RetryMax, cfg.RetryMin)
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = def.StopGrace
	}
	if cfg.StateDir == "" {
		return nil, errors.New("dispatch: no state directory")
	}
	if err := cfg.Queue.validate(); err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	cfg.Queue = cfg.Queue.withDefaults()
	if err := validate(deps.Enrichers, deps.Sinks); err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	reg := deps.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("dispatch: register metrics: %w", err)
	}
	d := &Dispatcher{
		logger:    logger,
		cfg:       cfg,
		metrics:   m,
		enrichers: slices.Clone(deps.Enrichers),
		sinks:     slices.Clone(deps.Sinks),
		workers:   map[string]*sinkWorker{},
		names:     map[uint32]aggregate.ASInfo{},
		wake:      make(chan struct{}, 1),
		intakeEnd: make(chan struct{}),
	}
	d.progress = sync.NewCond(&d.mu)
	for _, e := range d.enrichers {
		m.initEnricher(e.Name)
	}
	for _, s := range d.sinks {
		m.initSink(s.Name)
	}
	return d, nil
}

func validate(enrichers []NamedEnricher, sinks []NamedSink) error {
	seen := map[string]bool{}
	for _, e := range enrichers {
		if e.Name == "" || e.Enricher == nil {
			return fmt.Errorf("enricher %q: name and implementation required", e.Name)
		}
		if seen[e.Name] {
			return fmt.Errorf("enricher %q configured twice", e.Name)
		}
		seen[e.Name] = true
	}
	clear(seen)
	for _, s := range sinks {
		if s.Sink == nil {
			return fmt.Errorf("sink %q: no implementation", s.Name)
		}
		// The name becomes a directory name.
		if s.Name == "" || s.Name == "." || s.Name == ".." || strings.ContainsAny(s.Name, `/\`+"\x00") {
			return fmt.Errorf("sink name %q cannot name a queue directory", s.Name)
		}
		if seen[s.Name] {
			return fmt.Errorf("sink %q configured twice", s.Name)
		}
		seen[s.Name] = true
		if err := s.Queue.validate(); err != nil {
			return fmt.Errorf("sink %q: %w", s.Name, err)
		}
	}
	return nil
}

// Start reopens every sink's queue from disk and starts delivering what is
// there. ctx carries values only: delivery goes on until Stop, so that the
// bounded drain on shutdown works even when the caller's context is already
// cancelled by the signal that asked for the shutdown.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	d.mu.Lock()
	st := d.state
	d.mu.Unlock()
	if st != stateNew {
		return errors.New("dispatch: started twice")
	}
	// Written before any goroutine that reads it starts; Reload reads it
	// under lifeMu.
	d.baseCtx = context.WithoutCancel(ctx)

	d.sinksMu.Lock()
	started := []*sinkWorker{}
	for _, s := range d.sinks {
		w, err := d.newWorker(s)
		if err != nil {
			for _, w := range started {
				w.cancel()
				<-w.done
			}
			clear(d.workers)
			d.sinksMu.Unlock()
			return err
		}
		started = append(started, w)
		d.workers[s.Name] = w
		go w.run()
	}
	d.sinksMu.Unlock()

	d.mu.Lock()
	d.state = stateRunning
	enrichers := len(d.enrichers)
	d.mu.Unlock()
	go d.intake()
	d.logger.Info("dispatch started", "sinks", len(started), "enrichers", enrichers)
	return nil
}

func (d *Dispatcher) queueConfiguration(s NamedSink) QueueConfiguration {
	cfg := d.cfg.Queue
	if s.Queue.MaxBytes != 0 {
		cfg.MaxBytes = s.Queue.MaxBytes
	}
	if s.Queue.OnFull != "" {
		cfg.OnFull = s.Queue.OnFull
	}
	return cfg
}

// newWorker opens a sink's queue; the caller starts run.
func (d *Dispatcher) newWorker(s NamedSink) (*sinkWorker, error) {
	logger := d.logger.With("sink", s.Name)
	dir := filepath.Join(d.cfg.StateDir, "queue", s.Name)
	q, err := OpenQueue(logger, dir, d.queueConfiguration(s))
	if err != nil {
		return nil, fmt.Errorf("dispatch: sink %s: %w", s.Name, err)
	}
	d.metrics.initSink(s.Name)
	batches, bytes := d.metrics.queueBatches.WithLabelValues(s.Name), d.metrics.queueBytes.WithLabelValues(s.Name)
	q.Observe(func(n int, size int64) {
		batches.Set(float64(n))
		bytes.Set(float64(size))
	})
	if n := q.Len(); n > 0 {
		logger.Info("queued batches found, delivering them", "batches", n, "bytes", q.Bytes(), "dir", dir)
	}
	ctx, cancel := context.WithCancel(d.baseCtx)
	return &sinkWorker{
		name:     s.Name,
		logger:   logger,
		queue:    q,
		metrics:  d.metrics,
		retryMin: d.cfg.RetryMin,
		retryMax: d.cfg.RetryMax,
		sink:     s.Sink,
		swapped:  make(chan struct{}, 1),
		ctx:      ctx,
		cancel:   cancel,
		drain:    make(chan struct{}),
		done:     make(chan struct{}),
	}, nil
}

// Submit takes a closed interval's batch and returns at once: the intake
// goroutine enriches it (filling b.ASNames in place; the caller lets go of b)
// and writes it into every sink's queue. Problems are logged and counted.
func (d *Dispatcher) Submit(b *aggregate.Batch) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != stateRunning {
		// Components stop in reverse order: this is a wiring mistake.
		d.logger.Error("batch submitted while dispatch is not running; dropped",
			"batch", b.ID, "rows", len(b.Rows))
		return
	}
	d.backlog = append(d.backlog, b)
	d.submitted++
	if n := len(d.backlog); n > 1 {
		d.logger.Warn("batches waiting for enrichment", "waiting", n)
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Flush returns once every batch submitted before the call is in the sinks'
// queues (or was dropped for a reason that was counted).
func (d *Dispatcher) Flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	target := d.submitted
	for d.processed < target {
		d.progress.Wait()
	}
}

// intake enriches and queues the backlog in order. It ends once Stop has
// begun and the backlog is empty.
func (d *Dispatcher) intake() {
	defer close(d.intakeEnd)
	for {
		d.mu.Lock()
		for len(d.backlog) == 0 {
			if d.state != stateRunning {
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			<-d.wake
			d.mu.Lock()
		}
		b := d.backlog[0]
		d.backlog[0] = nil
		d.backlog = d.backlog[1:]
		enrichers, ctx := d.enrichers, d.baseCtx
		d.mu.Unlock()

		d.enrich(ctx, b, enrichers)
		d.enqueue(b)

		d.mu.Lock()
		d.processed++
		d.progress.Broadcast()
		d.mu.Unlock()
	}
}

// enqueue writes a batch into every sink's queue.
func (d *Dispatcher) enqueue(b *aggregate.Batch) {
	d.sinksMu.Lock()
	defer d.sinksMu.Unlock()
	if len(d.workers) == 0 {
		d.logger.Debug("no sink configured, batch dropped",
			"batch", b.ID, "start", b.Start, "partial", b.Partial, "rows", len(b.Rows), "as_names", len(b.ASNames))
		return
	}
	data := EncodeBatch(nil, b)
	for _, s := range d.sinks {
		if w := d.workers[s.Name]; w != nil {
			w.put(b.ID, data)
		}
	}
}

// Stop accepts no more batches, queues those already submitted, waits up to
// timeout for the queues to be delivered, then cancels what is still being
// written. What is undelivered stays on disk for the next Start.
func (d *Dispatcher) Stop(timeout time.Duration) error {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	d.mu.Lock()
	if d.state != stateRunning {
		d.state = stateStopped
		d.mu.Unlock()
		return nil
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	d.state = stateStopping
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	// The backlog, the partial interval closed at shutdown included, goes
	// into the queues whatever the timeout: each enricher call is bounded.
	<-d.intakeEnd

	d.sinksMu.Lock()
	workers := slices.Collect(maps.Values(d.workers))
	d.sinksMu.Unlock()
	for _, w := range workers {
		close(w.drain)
	}
	for _, w := range workers {
		timedOut := false
		select {
		case <-w.done:
		case <-deadline.C:
			timedOut = true
		}
		if timedOut {
			break
		}
	}
	for _, w := range workers {
		d.stopWorker(w)
		if n := w.queue.Len(); n > 0 {
			w.logger.Warn("batches left undelivered, they go out after the next start",
				"batches", n, "bytes", w.queue.Bytes())
		}
	}

	d.mu.Lock()
	d.state = stateStopped
	d.progress.Broadcast()
	d.mu.Unlock()
	d.logger.Info("dispatch stopped")
	return nil
}

// stopWorker cancels a worker and waits StopGrace for it.
func (d *Dispatcher) stopWorker(w *sinkWorker) {
	w.cancel()
	grace := time.NewTimer(d.cfg.StopGrace)
	defer grace.Stop()
	select {
	case <-w.done:
	case <-grace.C:
		w.logger.Error("sink did not return after cancellation; leaving it behind", "grace", d.cfg.StopGrace)
	}
}

// Reload swaps the enrichers and sinks (SIGHUP). A sink whose name stays
// keeps its queue and goroutine and is given the new implementation and
// queue limits; a new sink gets a queue; a removed sink's goroutine stops
// and its queue stays on disk. On error nothing changes.
func (d *Dispatcher) Reload(enrichers []NamedEnricher, sinks []NamedSink) error {
	if err := validate(enrichers, sinks); err != nil {
		return fmt.Errorf("dispatch reload: %w", err)
	}
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	d.mu.Lock()
	st := d.state
	d.mu.Unlock()
	if st == stateStopping || st == stateStopped {
		return errors.New("dispatch reload: stopping")
	}

	d.sinksMu.Lock()
	added := map[string]*sinkWorker{}
	if st == stateRunning {
		// Open new queues first so that a failure leaves everything as it
		// was.
		for _, s := range sinks {
			if d.workers[s.Name] != nil {
				continue
			}
			w, err := d.newWorker(s)
			if err != nil {
				d.sinksMu.Unlock()
				return fmt.Errorf("dispatch reload: %w", err)
			}
			added[s.Name] = w
		}
	}
	for _, s := range sinks {
		d.metrics.initSink(s.Name)
		if w := added[s.Name]; w != nil {
			d.workers[s.Name] = w
			go w.run()
			d.logger.Info("sink added", "sink", s.Name)
		} else if w := d.workers[s.Name]; w != nil {
			if err := w.queue.SetConfiguration(d.queueConfiguration(s)); err != nil {
				w.logger.Error("queue limits not changed", "err", err) // validated above
			}
			w.setSink(s.Sink)
		}
	}
	var removed []*sinkWorker
	for name, w := range d.workers {
		if !slices.ContainsFunc(sinks, func(s NamedSink) bool { return s.Name == name }) {
			removed = append(removed, w)
			delete(d.workers, name)
		}
	}
	d.sinks = slices.Clone(sinks)
	d.sinksMu.Unlock()

	for _, e := range enrichers {
		d.metrics.initEnricher(e.Name)
	}
	d.mu.Lock()
	d.enrichers = slices.Clone(enrichers)
	d.mu.Unlock()

	for _, w := range removed {
		d.stopWorker(w)
		d.metrics.removeSink(w.name)
		w.logger.Info("sink removed, its queue stays on disk", "batches", w.queue.Len(), "dir", w.queue.Dir())
	}
	return nil
}

// Status describes every configured sink's queue and delivery, in config
// order.
func (d *Dispatcher) Status() []SinkStatus {
	d.sinksMu.Lock()
	defer d.sinksMu.Unlock()
	out := make([]SinkStatus, 0, len(d.sinks))
	for _, s := range d.sinks {
		if w := d.workers[s.Name]; w != nil {
			out = append(out, w.status())
		} else {
			out = append(out, SinkStatus{Name: s.Name})
		}
	}
	return out
}

// ASNames returns a copy of the latest AS names the enrichers gave.
func (d *Dispatcher) ASNames() map[uint32]aggregate.ASInfo {
	d.namesMu.RLock()
	defer d.namesMu.RUnlock()
	return maps.Clone(d.names)
}

// ASName looks one ASN up in the latest AS names.
func (d *Dispatcher) ASName(asn uint32) (aggregate.ASInfo, bool) {
	d.namesMu.RLock()
	defer d.namesMu.RUnlock()
	info, ok := d.names[asn]
	return info, ok
}
