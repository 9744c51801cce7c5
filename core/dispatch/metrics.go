package dispatch

import "github.com/prometheus/client_golang/prometheus"

// Reasons a batch does not reach a sink, the `reason` label of
// lastfluss_batches_dropped_total.
const (
	ReasonQueueFull  = "queue_full"  // Pause refused it
	ReasonDropOldest = "drop_oldest" // DropOldest removed it to make room
	ReasonCorrupt    = "corrupt"     // its queued file was damaged and moved aside
	ReasonWriteError = "write_error" // it could not be written into the queue
)

var dropReasons = []string{ReasonQueueFull, ReasonDropOldest, ReasonCorrupt, ReasonWriteError}

type metrics struct {
	delivered    *prometheus.CounterVec
	queueBatches *prometheus.GaugeVec
	queueBytes   *prometheus.GaugeVec
	sinkErrors   *prometheus.CounterVec
	dropped      *prometheus.CounterVec
	enrichErrors *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lastfluss_batches_delivered_total",
			Help: "Batches a sink acknowledged.",
		}, []string{"sink"}),
		queueBatches: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lastfluss_sink_queue_batches",
			Help: "Batches waiting in a sink's durable queue, the one being delivered included.",
		}, []string{"sink"}),
		queueBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lastfluss_sink_queue_bytes",
			Help: "Size of a sink's durable queue on disk.",
		}, []string{"sink"}),
		sinkErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lastfluss_sink_errors_total",
			Help: "Failed attempts to deliver a batch to a sink (each is retried).",
		}, []string{"sink"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lastfluss_batches_dropped_total",
			Help: "Batches that will not reach a sink, by reason.",
		}, []string{"sink", "reason"}),
		enrichErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lastfluss_enrich_errors_total",
			Help: "Enrich calls that failed or missed their deadline; the batch went on without those names.",
		}, []string{"enricher"}),
	}
	for _, c := range []prometheus.Collector{m.delivered, m.queueBatches, m.queueBytes, m.sinkErrors, m.dropped, m.enrichErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// initSink creates a sink's series so that they exist at zero.
func (m *metrics) initSink(name string) {
	m.delivered.WithLabelValues(name)
	m.queueBatches.WithLabelValues(name)
	m.queueBytes.WithLabelValues(name)
	m.sinkErrors.WithLabelValues(name)
	for _, reason := range dropReasons {
		m.dropped.WithLabelValues(name, reason)
	}
}

// removeSink forgets the gauges of a sink that is no longer configured:
// nothing updates them any more. Its counters stay.
func (m *metrics) removeSink(name string) {
	m.queueBatches.DeleteLabelValues(name)
	m.queueBytes.DeleteLabelValues(name)
}

func (m *metrics) initEnricher(name string) {
	m.enrichErrors.WithLabelValues(name)
}
