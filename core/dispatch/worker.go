package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/lastfluss/lastfluss/core/aggregate"
)

// sinkWorker owns one sink's queue and the goroutine that delivers it.
type sinkWorker struct {
	name     string
	logger   *slog.Logger
	queue    *Queue
	metrics  *metrics
	retryMin time.Duration
	retryMax time.Duration

	mu            sync.Mutex // guards what follows
	sink          Sink
	lastDelivered time.Time
	lastError     string
	lastErrorTime time.Time
	failures      int // consecutive failed attempts on the current batch

	swapped chan struct{} // a new implementation: retry at once

	ctx    context.Context
	cancel context.CancelFunc
	drain  chan struct{} // closed by Stop: return once the queue is empty
	done   chan struct{} // closed when run returns
}

func (w *sinkWorker) setSink(s Sink) {
	w.mu.Lock()
	changed := w.sink != s
	w.sink = s
	w.mu.Unlock()
	if changed {
		select {
		case w.swapped <- struct{}{}:
		default:
		}
	}
}

func (w *sinkWorker) currentSink() Sink {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sink
}

// put queues an encoded batch, counting and logging what the limit costs.
func (w *sinkWorker) put(id string, data []byte) {
	dropped, err := w.queue.Put(data)
	if len(dropped) > 0 {
		w.metrics.dropped.WithLabelValues(w.name, ReasonDropOldest).Add(float64(len(dropped)))
		seqs := make([]uint64, len(dropped))
		for i, e := range dropped {
			seqs[i] = e.Seq
		}
		w.logger.Warn("queue at its size limit, oldest batches dropped",
			"batch", id, "dropped", len(dropped), "dropped_seqs", seqs,
			"queued_batches", w.queue.Len(), "queued_bytes", w.queue.Bytes())
	}
	switch {
	case errors.Is(err, ErrQueueFull):
		w.metrics.dropped.WithLabelValues(w.name, ReasonQueueFull).Inc()
		w.logger.Warn("queue at its size limit, new batch not queued for this sink", "batch", id, "err", err)
	case err != nil:
		w.metrics.dropped.WithLabelValues(w.name, ReasonWriteError).Inc()
		w.logger.Error("batch could not be queued for this sink", "batch", id, "err", err)
	}
}

// run delivers the queue in order until cancelled, or, once draining, until
// the queue is empty.
func (w *sinkWorker) run() {
	defer close(w.done)
	defer w.queue.Release()

	var (
		current    *aggregate.Batch // decoded once, kept across retries
		currentSeq uint64
		attempt    int
		backoff    = w.retryMin
	)
	for w.ctx.Err() == nil {
		e, ok := w.queue.Head()
		if !ok {
			current = nil
			select {
			case <-w.queue.Ready():
			case <-w.drain:
				if w.queue.Len() == 0 {
					return
				}
			case <-w.ctx.Done():
				return
			}
			continue
		}

		if current == nil || currentSeq != e.Seq {
			b, err := w.queue.Read(e)
			switch {
			case errors.Is(err, ErrCorrupt):
				w.metrics.dropped.WithLabelValues(w.name, ReasonCorrupt).Inc()
				w.logger.Error("corrupt queued batch moved aside", "seq", e.Seq, "err", err)
				continue
			case errors.Is(err, ErrGone):
				w.logger.Warn("queued batch vanished from disk", "seq", e.Seq, "err", err)
				continue
			case err != nil:
				w.logger.Error("queued batch unreadable, retrying", "seq", e.Seq, "retry_in", backoff, "err", err)
				if !w.wait(&backoff) {
					return
				}
				continue
			}
			current, currentSeq, attempt = b, e.Seq, 0
		}

		start := time.Now()
		err := w.currentSink().Write(w.ctx, current)
		if err == nil {
			if err := w.queue.Remove(e); err != nil {
				w.logger.Error("delivered batch not removed from disk; it is sent again after a restart",
					"batch", current.ID, "err", err)
			}
			w.metrics.delivered.WithLabelValues(w.name).Inc()
			w.mu.Lock()
			w.lastDelivered, w.failures = time.Now(), 0
			w.mu.Unlock()
			w.logger.Debug("batch delivered", "batch", current.ID, "rows", len(current.Rows),
				"attempts", attempt+1, "duration", time.Since(start))
			current, attempt, backoff = nil, 0, w.retryMin
			continue
		}
		if w.ctx.Err() != nil {
			return // cancelled: the batch stays queued
		}
		attempt++
		w.metrics.sinkErrors.WithLabelValues(w.name).Inc()
		w.mu.Lock()
		w.lastError, w.lastErrorTime, w.failures = err.Error(), time.Now(), attempt
		w.mu.Unlock()
		w.logger.Warn("sink write failed, retrying", "batch", current.ID, "attempt", attempt,
			"retry_in", backoff, "queued_batches", w.queue.Len(), "err", err)
		if !w.wait(&backoff) {
			return
		}
	}
}

// wait sleeps for *backoff and doubles it up to retryMax; a new sink
// implementation ends the wait and resets it. It reports false when
// cancelled.
func (w *sinkWorker) wait(backoff *time.Duration) bool {
	t := time.NewTimer(*backoff)
	defer t.Stop()
	select {
	case <-t.C:
		*backoff = min(*backoff*2, w.retryMax)
		return true
	case <-w.swapped:
		*backoff = w.retryMin
		return true
	case <-w.ctx.Done():
		return false
	}
}

// SinkStatus is what `lastfluss status` and the TUI show about a sink.
type SinkStatus struct {
	Name          string
	QueuedBatches int
	QueuedBytes   int64
	LastDelivered time.Time // zero: nothing delivered since start
	Failures      int       // consecutive failed attempts on the oldest batch
	LastError     string
	LastErrorTime time.Time
}

func (w *sinkWorker) status() SinkStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return SinkStatus{
		Name:          w.name,
		QueuedBatches: w.queue.Len(),
		QueuedBytes:   w.queue.Bytes(),
		LastDelivered: w.lastDelivered,
		Failures:      w.failures,
		LastError:     w.lastError,
		LastErrorTime: w.lastErrorTime,
	}
}
