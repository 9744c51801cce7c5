package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/prometheus/client_golang/prometheus"
)

// The sinks and enrichers below are small real implementations of the
// interfaces; the tests wait on their channels, never on the clock.

// recordSink acknowledges every batch and hands it to the test.
type recordSink struct {
	mu      sync.Mutex
	batches []*aggregate.Batch
	got     chan *aggregate.Batch
}

func newRecordSink() *recordSink {
	return &recordSink{got: make(chan *aggregate.Batch, 1000)}
}

func (s *recordSink) Write(_ context.Context, b *aggregate.Batch) error {
	s.mu.Lock()
	s.batches = append(s.batches, b)
	s.mu.Unlock()
	s.got <- b
	return nil
}

// wait returns the next n batches the sink acknowledged.
func (s *recordSink) wait(t *testing.T, n int) []*aggregate.Batch {
	t.Helper()
	var got []*aggregate.Batch
	for range n {
		got = append(got, <-s.got)
	}
	return got
}

func (s *recordSink) all() []*aggregate.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.batches)
}

// failSink fails its first `failures` writes (all of them if negative), then
// passes batches on to a recordSink.
type failSink struct {
	*recordSink
	failures int64
	attempts atomic.Int64
}

func newFailSink(failures int64) *failSink {
	return &failSink{recordSink: newRecordSink(), failures: failures}
}

func (s *failSink) Write(ctx context.Context, b *aggregate.Batch) error {
	n := s.attempts.Add(1)
	if s.failures < 0 || n <= s.failures {
		return fmt.Errorf("attempt %d: database unreachable", n)
	}
	return s.recordSink.Write(ctx, b)
}

// blockSink announces each write on entered, then waits until released (or
// cancelled) before acknowledging.
type blockSink struct {
	*recordSink
	entered chan string
	release chan struct{}
	once    sync.Once
}

func newBlockSink() *blockSink {
	return &blockSink{recordSink: newRecordSink(), entered: make(chan string, 1000), release: make(chan struct{})}
}

func (s *blockSink) Write(ctx context.Context, b *aggregate.Batch) error {
	s.entered <- b.ID
	select {
	case <-s.release:
		return s.recordSink.Write(ctx, b)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *blockSink) unblock() { s.once.Do(func() { close(s.release) }) }

// mapEnricher knows a fixed set of names and records what it was asked.
type mapEnricher struct {
	names map[uint32]aggregate.ASInfo
	mu    sync.Mutex
	asked [][]uint32
}

func (e *mapEnricher) Enrich(_ context.Context, asns []uint32) (map[uint32]aggregate.ASInfo, error) {
	e.mu.Lock()
	e.asked = append(e.asked, slices.Clone(asns))
	e.mu.Unlock()
	out := map[uint32]aggregate.ASInfo{}
	for _, asn := range asns {
		if info, ok := e.names[asn]; ok {
			out[asn] = info
		}
	}
	return out, nil
}

type errEnricher struct{}

func (errEnricher) Enrich(context.Context, []uint32) (map[uint32]aggregate.ASInfo, error) {
	return nil, errors.New("name server down")
}

// stuckEnricher ignores its context and answers only when released: the
// dispatcher must not wait for it past the deadline.
type stuckEnricher struct{ release chan struct{} }

func (e stuckEnricher) Enrich(context.Context, []uint32) (map[uint32]aggregate.ASInfo, error) {
	<-e.release
	return map[uint32]aggregate.ASInfo{174: {Name: "TOO-LATE"}}, nil
}

// gateEnricher honours its context but otherwise answers only once released.
type gateEnricher struct{ release chan struct{} }

func (e gateEnricher) Enrich(ctx context.Context, _ []uint32) (map[uint32]aggregate.ASInfo, error) {
	select {
	case <-e.release:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

var (
	_ Enricher = gateEnricher{}
	_ Sink     = (*recordSink)(nil)
	_ Sink     = (*failSink)(nil)
	_ Sink     = (*blockSink)(nil)
	_ Enricher = (*mapEnricher)(nil)
	_ Enricher = errEnricher{}
	_ Enricher = stuckEnricher{}
)

func testConfiguration(stateDir string) Configuration {
	cfg := DefaultConfiguration()
	cfg.StateDir = stateDir
	cfg.RetryMin = time.Millisecond
	cfg.RetryMax = 20 * time.Millisecond
	cfg.EnrichTimeout = 50 * time.Millisecond
	return cfg
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startDispatcher starts a dispatcher on stateDir with its own registry and
// stops it when the test ends.
func startDispatcher(t *testing.T, cfg Configuration, deps Dependencies) (*Dispatcher, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	deps.Registerer = reg
	d, err := New(testLogger(t), cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { d.Stop(0) })
	return d, reg
}

// submit hands b over and waits until it is in the queues, so that tests
// read metrics at a known point.
func submit(t *testing.T, d *Dispatcher, b *aggregate.Batch) {
	t.Helper()
	d.Submit(b)
	d.Flush()
}

func ids(batches []*aggregate.Batch) []string {
	var out []string
	for _, b := range batches {
		out = append(out, b.ID)
	}
	return out
}
