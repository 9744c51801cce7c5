package collector_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/classify"
	"github.com/lastfluss/lastfluss/core/collector"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/core/decode"
	"github.com/lastfluss/lastfluss/core/flowgen"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

type rig struct {
	col     *collector.Collector
	live    *collector.Live
	liveMu  sync.Mutex
	liveB   []*aggregate.Batch
	table   *atomic.Pointer[classify.Table]
	reg     *prometheus.Registry
	mu      sync.Mutex
	batches []*aggregate.Batch
}

// startCollector runs the real listeners, decoders, classifier and merger
// on loopback with the scenario's exporters.
func startCollector(t *testing.T, sc *flowgen.Scenario, interval string, workers int) *rig {
	t.Helper()
	return startCollectorWith(t, sc, interval, workers, "")
}

// startCollectorWith adds listenExtra to both listen blocks.
func startCollectorWith(t *testing.T, sc *flowgen.Scenario, interval string, workers int, listenExtra string) *rig {
	t.Helper()
	src := fmt.Sprintf(`
collector_id = "test"
interval     = %q
state_dir    = %q
listen "netflow" {
  address = "127.0.0.1:0"
  workers = %d
  %s
}
listen "sflow" {
  address = "127.0.0.1:0"
  workers = %d
  %s
}
%s`, interval, t.TempDir(), workers, listenExtra, workers, listenExtra, sc.Config)
	cfg, diags := config.Parse([]byte(src), "test.hcl")
	if diags.HasErrors() {
		t.Fatalf("config: %s", diags)
	}
	r := &rig{table: new(atomic.Pointer[classify.Table]), reg: prometheus.NewRegistry()}
	areg := aggregate.NewRegistry()
	r.table.Store(classify.NewTable(cfg, areg, nil))
	acfg := aggregate.DefaultConfiguration()
	acfg.CollectorID = cfg.CollectorID
	acfg.Interval = cfg.Interval
	m := aggregate.NewMerger(discard, acfg, areg, func(b *aggregate.Batch) {
		r.mu.Lock()
		r.batches = append(r.batches, b)
		r.mu.Unlock()
	})
	lcfg := acfg
	lcfg.Interval = time.Second
	r.live = &collector.Live{Merger: aggregate.NewMerger(discard, lcfg, areg, func(b *aggregate.Batch) {
		r.liveMu.Lock()
		r.liveB = append(r.liveB, b)
		r.liveMu.Unlock()
	})}
	col, err := collector.New(context.Background(), discard, collector.Configuration{Listen: cfg.Listen, Interval: cfg.Interval},
		collector.Dependencies{Table: r.table, Merger: m, Templates: decode.NewTemplates(), Registry: r.reg, Live: r.live})
	if err != nil {
		t.Fatal(err)
	}
	r.col = col
	col.Start()
	return r
}

// send sends every datagram from its own source address, paced so that
// loopback does not overflow the receive buffer.
func send(t *testing.T, r *rig, sc *flowgen.Scenario) {
	t.Helper()
	targets := map[string]*net.UDPAddr{
		flowgen.TargetNetFlow: r.col.Addr("netflow").(*net.UDPAddr),
		flowgen.TargetSFlow:   r.col.Addr("sflow").(*net.UDPAddr),
	}
	conns := make(map[netip.Addr]*net.UDPConn)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i, d := range sc.Datagrams {
		c := conns[d.Src]
		if c == nil {
			var err error
			c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(d.Src, 0)))
			if err != nil {
				t.Fatalf("bind %s: %v", d.Src, err)
			}
			conns[d.Src] = c
		}
		if _, err := c.WriteToUDP(d.Payload, targets[d.Target]); err != nil {
			t.Fatalf("send: %v", err)
		}
		if i%200 == 199 {
			time.Sleep(time.Millisecond)
		}
	}
}

// waitReceived waits until the collector has read n datagrams: loopback
// delivers every one, so this ends; the test has no time limit of its own.
func waitReceived(t *testing.T, r *rig, n float64) {
	t.Helper()
	for {
		var got float64
		mfs, err := r.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "lastfluss_listener_packets_total" {
				for _, m := range mf.GetMetric() {
					got += m.GetCounter().GetValue()
				}
			}
		}
		if got >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type rowKey struct {
	Exporter, Interface, Direction string
	Remote, Local                  uint32
	IPVersion                      uint8
}

// sumRows adds up batches by exporter, interface, direction and ASNs.
func sumRows(batches []*aggregate.Batch) map[rowKey]flowgen.Counters {
	got := make(map[rowKey]flowgen.Counters)
	for _, b := range batches {
		for _, row := range b.Rows {
			itf := b.Interfaces[row.Interface]
			k := rowKey{itf.Exporter, itf.Name, row.Direction.String(), row.RemoteASN, row.LocalASN, row.IPVersion}
			c := got[k]
			c.Bytes += row.Bytes
			c.Packets += row.Packets
			c.Flows += row.Flows
			got[k] = c
		}
	}
	return got
}

// TestLiveViewWhileWatched: while the live view is watched, one-second
// batches carry the same records as the interval batches.
func TestLiveViewWhileWatched(t *testing.T) {
	opts := flowgen.DefaultOptions()
	opts.Flows = 20000
	opts.Malformed = 0
	sc, err := flowgen.Generate(opts)
	if err != nil {
		t.Fatal(err)
	}
	r := startCollector(t, sc, "1m", 2)
	r.live.Watching.Store(true) // workers see it with their next datagram
	send(t, r, sc)
	waitReceived(t, r, float64(len(sc.Datagrams)))
	r.col.Stop()
	live, main := sumRows(r.liveB), sumRows(r.batches)
	if len(r.liveB) == 0 {
		t.Fatal("no live batches")
	}
	if diff := cmp.Diff(live, main); diff != "" {
		t.Errorf("live view vs interval batches (-live +interval):\n%s", diff)
	}
}

func TestExactTotalsEveryProtocol(t *testing.T) {
	opts := flowgen.DefaultOptions()
	opts.Exporters = 8
	opts.Malformed = 0.02
	opts.NoRateExporter = 1
	opts.Flows = 60000
	sc, err := flowgen.Generate(opts)
	if err != nil {
		t.Fatal(err)
	}
	r := startCollector(t, sc, "1s", 2)
	send(t, r, sc)
	waitReceived(t, r, float64(len(sc.Datagrams)))
	r.col.Stop()

	got := make(map[rowKey]flowgen.Counters)
	gotUnclassified := make(map[string]flowgen.Counters)
	ids := make(map[string]bool)
	for _, b := range r.batches {
		if ids[b.ID] {
			t.Errorf("batch id %s twice", b.ID)
		}
		ids[b.ID] = true
		for _, row := range b.Rows {
			itf := b.Interfaces[row.Interface]
			k := rowKey{itf.Exporter, itf.Name, row.Direction.String(), row.RemoteASN, row.LocalASN, row.IPVersion}
			c := got[k]
			c.Bytes += row.Bytes
			c.Packets += row.Packets
			c.Flows += row.Flows
			got[k] = c
		}
		for _, u := range b.Unclassified {
			c := gotUnclassified[u.Exporter]
			c.Bytes += u.Bytes
			c.Flows += u.Flows
			gotUnclassified[u.Exporter] = c
		}
	}
	want := make(map[rowKey]flowgen.Counters)
	for _, row := range sc.Truth.Rows {
		k := rowKey{row.Exporter, row.Interface, row.Direction, row.RemoteASN, row.LocalASN, row.IPVersion}
		want[k] = flowgen.Counters{Bytes: row.Bytes, Packets: row.Packets, Flows: row.Flows}
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("totals per exporter, interface, direction and ASN (-got +want):\n%s", diff)
	}
	wantUnclassified := make(map[string]flowgen.Counters)
	for _, e := range sc.Truth.Exporters {
		if e.Unclassified.Flows > 0 {
			wantUnclassified[e.Name] = flowgen.Counters{Bytes: e.Unclassified.Bytes, Flows: e.Unclassified.Flows}
		}
	}
	if diff := cmp.Diff(gotUnclassified, wantUnclassified); diff != "" {
		t.Errorf("unclassified per exporter (-got +want):\n%s", diff)
	}

	var malformed uint64
	for _, e := range sc.Truth.Exporters {
		if got := testutil.ToFloat64(counter(t, r.reg, "lastfluss_flows_received_total", e.Name)); got != float64(e.FlowsSent) {
			t.Errorf("lastfluss_flows_received_total{exporter=%q} = %v, want %d", e.Name, got, e.FlowsSent)
		}
		malformed += e.MalformedSent
	}
	if malformed == 0 {
		t.Fatal("the scenario sent no malformed datagrams")
	}
	var decodeErrors float64
	mfs, _ := r.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "lastfluss_decode_errors_total" {
			for _, m := range mf.GetMetric() {
				decodeErrors += m.GetCounter().GetValue()
			}
		}
	}
	unknown := 0.0
	for _, n := range r.col.Unknown() {
		unknown += float64(n)
	}
	// Garbage from an sFlow agent's other source address cannot be told
	// apart from an unconfigured sender: it is counted there.
	if decodeErrors+unknown < float64(malformed) || decodeErrors == 0 {
		t.Errorf("decode errors %v + unknown-exporter datagrams %v, want >= %d malformed sent", decodeErrors, unknown, malformed)
	}
}

// counter returns one labelled series of a const-metric family as a
// prometheus.Collector that testutil can read.
func counter(t *testing.T, reg *prometheus.Registry, name, exporter string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "exporter" && l.GetValue() == exporter {
					c := prometheus.NewCounter(prometheus.CounterOpts{Name: name})
					c.Add(m.GetCounter().GetValue())
					return c
				}
			}
		}
	}
	t.Fatalf("no series %s{exporter=%q}", name, exporter)
	return nil
}

// TestSecondCollectorRefused: SO_REUSEPORT must not let a second collector
// join a port and take part of the datagrams.
func TestSecondCollectorRefused(t *testing.T) {
	sc, err := flowgen.Generate(flowgen.Options{Seed: 1, Exporters: 1, Interfaces: 1, ASNs: 1, Protocols: []string{flowgen.ProtoV5}, SamplingRate: 1, NoRateExporter: -1, RecordsPerPacket: 1, TemplateEvery: 1, Flows: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := startCollector(t, sc, "1m", 2)
	defer r.col.Stop()
	listen := []config.Listen{{Protocol: "netflow", Address: r.col.Addr("netflow").String(), Workers: 1, ReceiveBuffer: 1 << 20}}
	tab := new(atomic.Pointer[classify.Table])
	_, err = collector.New(context.Background(), discard, collector.Configuration{Listen: listen, Interval: time.Minute},
		collector.Dependencies{Table: tab, Merger: aggregate.NewMerger(discard, aggregate.DefaultConfiguration(), aggregate.NewRegistry(), func(*aggregate.Batch) {}), Templates: decode.NewTemplates()})
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("second collector on %s: err = %v, want address already in use", listen[0].Address, err)
	}
}

// TestSpreadRandom: with spread = "random", one exporter's datagrams are
// shared by every worker of the listener, and the totals stay exact.
func TestSpreadRandom(t *testing.T) {
	opts := flowgen.DefaultOptions()
	opts.Exporters = 1
	opts.Protocols = []string{flowgen.ProtoV9}
	opts.Malformed = 0
	opts.Flows = 30000
	sc, err := flowgen.Generate(opts)
	if err != nil {
		t.Fatal(err)
	}
	r := startCollectorWith(t, sc, "1m", 2, `spread = "random"`)
	// The first datagram carries the templates: let it be decoded before
	// the data that another worker may get.
	first := &flowgen.Scenario{Datagrams: sc.Datagrams[:1]}
	send(t, r, first)
	waitReceived(t, r, 1)
	send(t, r, &flowgen.Scenario{Datagrams: sc.Datagrams[1:]})
	waitReceived(t, r, float64(len(sc.Datagrams)))
	r.col.Stop()

	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "lastfluss_listener_packets_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if strings.HasPrefix(m.GetLabel()[0].GetValue(), "netflow") && m.GetCounter().GetValue() < float64(len(sc.Datagrams))/4 {
				t.Errorf("worker %v read %v of %d datagrams: not spread", m.GetLabel(), m.GetCounter().GetValue(), len(sc.Datagrams))
			}
		}
	}
	want := make(map[rowKey]flowgen.Counters)
	for _, row := range sc.Truth.Rows {
		want[rowKey{row.Exporter, row.Interface, row.Direction, row.RemoteASN, row.LocalASN, row.IPVersion}] = flowgen.Counters{Bytes: row.Bytes, Packets: row.Packets, Flows: row.Flows}
	}
	if diff := cmp.Diff(sumRows(r.batches), want); diff != "" {
		t.Errorf("totals (-got +want):\n%s", diff)
	}
}
