package daemon

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/decode"
)

// batchMetrics describes the batches the aggregation stage closes.
type batchMetrics struct {
	closed       prometheus.Counter
	partial      prometheus.Counter
	rows         prometheus.Histogram
	otherRows    prometheus.Counter
	unclassified *prometheus.Desc

	mu        sync.Mutex
	last      []aggregate.Unclassified // of the latest batch
	lastStart time.Time
}

func newBatchMetrics(reg prometheus.Registerer, templates *decode.Templates) *batchMetrics {
	m := &batchMetrics{
		closed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lastfluss_batches_closed_total", Help: "Interval batches closed (partial ones included).",
		}),
		partial: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lastfluss_batches_partial_total", Help: "Batches closed before their interval ended (shutdown).",
		}),
		rows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lastfluss_batch_rows", Help: "Rows per closed batch.",
			Buckets: prometheus.ExponentialBuckets(10, 4, 9),
		}),
		otherRows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lastfluss_batch_other_rows_total", Help: "Rows that hold the excess over max_keys.",
		}),
		unclassified: prometheus.NewDesc("lastfluss_unclassified_bytes",
			"Bytes on undeclared ifIndexes in the latest batch (top-N): a forgotten or renumbered interface.",
			[]string{"exporter", "ifindex"}, nil),
	}
	reg.MustRegister(m.closed, m.partial, m.rows, m.otherRows, m,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lastfluss_templates", Help: "NetFlow v9/IPFIX templates known.",
		}, func() float64 { return float64(templates.Len()) }))
	return m
}

func (m *batchMetrics) observe(b *aggregate.Batch) {
	m.closed.Inc()
	if b.Partial {
		m.partial.Inc()
	}
	m.rows.Observe(float64(len(b.Rows)))
	for _, r := range b.Rows {
		if r.Other {
			m.otherRows.Inc()
		}
	}
	m.mu.Lock()
	m.last = b.Unclassified
	m.lastStart = b.Start
	m.mu.Unlock()
}

// latestUnclassified is the unclassified top-N of the latest batch and its
// interval start, for the control socket.
func (m *batchMetrics) latestUnclassified() (time.Time, []aggregate.Unclassified) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastStart, m.last
}

func (m *batchMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.unclassified }

func (m *batchMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.last {
		ch <- prometheus.MustNewConstMetric(m.unclassified, prometheus.GaugeValue, float64(u.Bytes), u.Exporter, strconv.FormatUint(uint64(u.IfIndex), 10))
	}
}
