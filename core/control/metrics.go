package control

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	clients prometheus.Gauge
	dropped prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lastfluss_control_live_clients", Help: "Clients of the live view right now.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lastfluss_control_live_dropped_total", Help: "Live seconds not sent to a client that did not keep up.",
		}),
	}
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.clients.Describe(ch)
	m.dropped.Describe(ch)
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.clients.Collect(ch)
	m.dropped.Collect(ch)
}
