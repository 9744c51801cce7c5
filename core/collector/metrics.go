package collector

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lastfluss/lastfluss/core/decode"
)

// metrics reads the collector's atomic counters at scrape time, so the hot
// path never touches a label map.
type metrics struct {
	c            *Collector
	decodeErrors *prometheus.CounterVec

	packets, flows, unclassified, assumed *prometheus.Desc
	unknown, drops, bufGranted, bufReq    *prometheus.Desc
	listenerPackets                       *prometheus.Desc
}

func newMetrics(c *Collector) *metrics {
	return &metrics{
		c: c,
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lastfluss_decode_errors_total",
			Help: "Datagrams dropped as malformed, by exporter and reason.",
		}, []string{"exporter", "reason"}),
		packets:         prometheus.NewDesc("lastfluss_packets_received_total", "Datagrams received from a configured exporter.", []string{"exporter"}, nil),
		flows:           prometheus.NewDesc("lastfluss_flows_received_total", "Flow records decoded, unscaled.", []string{"exporter"}, nil),
		unclassified:    prometheus.NewDesc("lastfluss_flows_unclassified_total", "Flow records crossing no declared interface.", []string{"exporter"}, nil),
		assumed:         prometheus.NewDesc("lastfluss_flows_sampling_assumed_total", "Flow records counted 1:1 because no sampling rate was announced or configured.", []string{"exporter"}, nil),
		unknown:         prometheus.NewDesc("lastfluss_packets_unknown_exporter_total", "Datagrams from addresses that are not configured exporters (dropped).", []string{"address"}, nil),
		drops:           prometheus.NewDesc("lastfluss_socket_drops_total", "Datagrams the kernel dropped because the socket's receive buffer was full.", []string{"listener"}, nil),
		bufGranted:      prometheus.NewDesc("lastfluss_receive_buffer_bytes", "Receive buffer the kernel granted per socket.", []string{"listener"}, nil),
		bufReq:          prometheus.NewDesc("lastfluss_receive_buffer_requested_bytes", "Receive buffer configured per socket.", []string{"listener"}, nil),
		listenerPackets: prometheus.NewDesc("lastfluss_listener_packets_total", "Datagrams read, per listener and worker.", []string{"listener", "worker"}, nil),
	}
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.decodeErrors.Describe(ch)
	for _, d := range []*prometheus.Desc{m.packets, m.flows, m.unclassified, m.assumed, m.unknown, m.drops, m.bufGranted, m.bufReq, m.listenerPackets} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	tab := m.c.deps.Table.Load()
	for _, e := range tab.Exporters() {
		// Series exist at zero for every configured exporter.
		for _, reason := range []string{decode.ReasonShort, decode.ReasonVersion, decode.ReasonMalformed, decode.ReasonTemplateUnknown} {
			m.decodeErrors.WithLabelValues(e.Name, reason)
		}
		ch <- prometheus.MustNewConstMetric(m.packets, prometheus.CounterValue, float64(e.Counters.Packets.Load()), e.Name)
		ch <- prometheus.MustNewConstMetric(m.flows, prometheus.CounterValue, float64(e.Counters.Flows.Load()), e.Name)
		ch <- prometheus.MustNewConstMetric(m.unclassified, prometheus.CounterValue, float64(e.Counters.Unclassified.Load()), e.Name)
		ch <- prometheus.MustNewConstMetric(m.assumed, prometheus.CounterValue, float64(e.Counters.SamplingAssumed.Load()), e.Name)
	}
	m.decodeErrors.Collect(ch)
	for addr, n := range m.c.Unknown() {
		ch <- prometheus.MustNewConstMetric(m.unknown, prometheus.CounterValue, float64(n), addr.String())
	}
	drops, err := socketDrops()
	if err != nil {
		m.c.logger.Warn("cannot read socket drop counters", "err", err)
	}
	perListener := make(map[string]float64)
	for _, w := range m.c.workers {
		perListener[w.listener] += float64(drops[w.inode])
		ch <- prometheus.MustNewConstMetric(m.listenerPackets, prometheus.CounterValue, float64(w.packets.Load()), w.listener, strconv.Itoa(w.index))
	}
	seen := make(map[string]bool)
	for _, w := range m.c.workers {
		if seen[w.listener] {
			continue
		}
		seen[w.listener] = true
		ch <- prometheus.MustNewConstMetric(m.drops, prometheus.CounterValue, perListener[w.listener], w.listener)
		ch <- prometheus.MustNewConstMetric(m.bufGranted, prometheus.GaugeValue, float64(w.granted), w.listener)
		ch <- prometheus.MustNewConstMetric(m.bufReq, prometheus.GaugeValue, float64(w.requested), w.listener)
	}
}
