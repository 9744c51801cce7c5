// Package collector owns the UDP listeners and their workers: each worker
// reads its own socket, decodes, classifies and aggregates into its own
// shard, and hands the shard to the merger at every interval boundary.
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv4"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/classify"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/core/decode"
)

// Configuration of the collector: the listen blocks and the interval.
type Configuration struct {
	Listen   []config.Listen
	Interval time.Duration
}

// Dependencies are the parts the collector shares with the rest of the core.
type Dependencies struct {
	Table     *atomic.Pointer[classify.Table] // swapped on reload
	Merger    *aggregate.Merger
	Templates *decode.Templates
	Registry  prometheus.Registerer
	Live      *Live // nil: no live view
}

// Live is the tap of the live view: while Watching is set, every worker
// also adds its records to a one-second shard and hands it to Merger, a
// merger with a one-second interval. Nobody watching costs one atomic load
// per datagram.
type Live struct {
	Merger   *aggregate.Merger
	Watching atomic.Bool
}

// readBatch is how many datagrams one recvmmsg call may return.
const readBatch = 32

// liveInterval is the resolution of the live view.
const liveInterval = time.Second

// Collector is the set of listeners.
type Collector struct {
	logger  *slog.Logger
	cfg     Configuration
	deps    Dependencies
	metrics *metrics
	workers []*worker
	wg      sync.WaitGroup

	unknownMu sync.Mutex
	unknown   map[netip.Addr]uint64 // datagrams from unconfigured addresses
}

// New opens every socket, so that a port in use is an error before
// anything starts.
func New(ctx context.Context, logger *slog.Logger, cfg Configuration, deps Dependencies) (*Collector, error) {
	c := &Collector{logger: logger, cfg: cfg, deps: deps, unknown: make(map[netip.Addr]uint64)}
	c.metrics = newMetrics(c)
	if deps.Registry != nil {
		if err := deps.Registry.Register(c.metrics); err != nil {
			return nil, fmt.Errorf("register collector metrics: %w", err)
		}
	}
	for _, l := range cfg.Listen {
		if err := c.listen(ctx, l); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

func (c *Collector) listen(ctx context.Context, l config.Listen) error {
	name := l.Protocol + " " + l.Address
	address, err := probe(l.Address)
	if err != nil {
		return fmt.Errorf("listener %s: %w", name, err)
	}
	for i := range max(l.Workers, 1) {
		conn, granted, err := listenUDP(ctx, address, l.ReceiveBuffer)
		if err != nil {
			return fmt.Errorf("listener %s: %w", name, err)
		}
		if i == 0 {
			if granted < l.ReceiveBuffer {
				c.logger.Warn("the kernel granted a smaller receive buffer than configured: datagrams may be dropped at bursts",
					"listener", name, "requested", l.ReceiveBuffer, "granted", granted,
					"fix", fmt.Sprintf("sysctl -w net.core.rmem_max=%d (persist it in /etc/sysctl.d/), or give lastfluss CAP_NET_ADMIN", l.ReceiveBuffer))
			}
		}
		ino, err := socketInode(conn)
		if err != nil {
			conn.Close()
			return fmt.Errorf("listener %s: inode: %w", name, err)
		}
		var dec decode.Decoder
		if l.Protocol == "sflow" {
			dec = decode.NewFastSFlow()
		} else {
			dec = decode.NewFastNetFlow(c.deps.Templates)
		}
		c.workers = append(c.workers, &worker{
			c:         c,
			listener:  name,
			index:     i,
			sflow:     l.Protocol == "sflow",
			conn:      conn,
			inode:     ino,
			requested: l.ReceiveBuffer,
			granted:   granted,
			dec:       dec,
		})
	}
	if l.Spread == config.SpreadRandom && l.Workers > 1 {
		if err := spreadRandomly(c.workers[len(c.workers)-1].conn, l.Workers); err != nil {
			return fmt.Errorf("listener %s: %w", name, err)
		}
	}
	c.logger.Info("listening", "listener", name, "address", address, "workers", max(l.Workers, 1), "spread", l.Spread)
	return nil
}

// Addr returns the local address of the first socket of the i-th listen
// block (tests listen on port 0).
func (c *Collector) Addr(protocol string) net.Addr {
	for _, w := range c.workers {
		if w.sflow == (protocol == "sflow") {
			return w.conn.LocalAddr()
		}
	}
	return nil
}

// Start starts one goroutine per worker.
func (c *Collector) Start() {
	for _, w := range c.workers {
		w.id = c.deps.Merger.AddWorker()
		if c.deps.Live != nil {
			w.liveID = c.deps.Live.Merger.AddWorker()
		}
	}
	for _, w := range c.workers {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			w.run()
		}()
	}
}

// Stop closes the sockets; every worker hands its open shard, marked
// partial, before Stop returns.
func (c *Collector) Stop() {
	for _, w := range c.workers {
		w.stopping.Store(true)
	}
	c.close()
	c.wg.Wait()
}

func (c *Collector) close() {
	for _, w := range c.workers {
		w.conn.Close()
	}
}

// Unknown returns the datagrams received per unconfigured address.
func (c *Collector) Unknown() map[netip.Addr]uint64 {
	c.unknownMu.Lock()
	defer c.unknownMu.Unlock()
	m := make(map[netip.Addr]uint64, len(c.unknown))
	for k, v := range c.unknown {
		m[k] = v
	}
	return m
}

// maxUnknown bounds the addresses tracked, so a scan cannot grow memory.
const maxUnknown = 1024

func (c *Collector) countUnknown(addr netip.Addr) {
	c.unknownMu.Lock()
	defer c.unknownMu.Unlock()
	if _, ok := c.unknown[addr]; !ok && len(c.unknown) >= maxUnknown {
		addr = netip.IPv4Unspecified()
	}
	if c.unknown[addr] == 0 && addr.IsValid() && !addr.IsUnspecified() {
		c.logger.Warn("datagrams from an address that is not a configured exporter are dropped", "address", addr)
	}
	c.unknown[addr]++
}

type worker struct {
	c         *Collector
	id        int // in the merger
	liveID    int // in the live merger
	listener  string
	index     int // within its listener
	sflow     bool
	conn      *net.UDPConn
	inode     uint64
	requested int
	granted   int
	dec       decode.Decoder
	stopping  atomic.Bool
	recs      []decode.Record // an sFlow datagram's records, until its agent is known
	exporters classify.ExporterCache
	// The datagram being decoded, for classify (NetFlow).
	exp         *classify.Exporter
	shard, live *aggregate.Shard
	classify    func(*decode.Record)
	classified  uint64 // records classify saw in this datagram
	packets     atomic.Uint64
}

func (w *worker) run() {
	m := w.c.deps.Merger
	interval := w.c.cfg.Interval
	shard := m.NewShard(time.Now())
	next := time.Unix(shard.Start, 0).Add(interval)
	var live *aggregate.Shard // the live view's shard while watched
	var liveNext time.Time
	// recvmmsg: up to readBatch datagrams per system call.
	pc := ipv4.NewPacketConn(w.conn)
	msgs := make([]ipv4.Message, readBatch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 65536)}
	}
	emit := func(r *decode.Record) { w.recs = append(w.recs, *r) }
	w.classify = func(r *decode.Record) {
		w.classified++
		w.exp.ClassifyLive(w.c.logger, r, w.shard, w.live)
	}
	for {
		// Waking at the boundary closes the interval even when no
		// datagram arrives.
		deadline := next
		if live != nil && liveNext.Before(deadline) {
			deadline = liveNext
		}
		if w.c.deps.Live != nil {
			// An idle worker must notice a watcher within a second too.
			deadline = earliest(deadline, time.Now().Add(liveInterval))
		}
		_ = w.conn.SetReadDeadline(deadline)
		n, err := pc.ReadBatch(msgs, 0)
		now := time.Now()
		if !now.Before(next) {
			m.Hand(w.id, shard)
			shard = m.NewShard(now)
			next = time.Unix(shard.Start, 0).Add(interval)
		}
		if live != nil && !now.Before(liveNext) {
			w.c.deps.Live.Merger.Hand(w.liveID, live)
			live = nil
			if w.c.deps.Live.Watching.Load() {
				live = w.c.deps.Live.Merger.NewShard(now)
				liveNext = time.Unix(live.Start, 0).Add(liveInterval)
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			if !w.stopping.Load() {
				w.c.logger.Error("read from socket failed; worker stops", "listener", w.listener, "err", err)
			}
			shard.Partial = true
			m.Hand(w.id, shard)
			if w.c.deps.Live != nil {
				// Even an empty shard: the live merger waits for every
				// worker before it closes a second.
				if live == nil {
					live = w.c.deps.Live.Merger.NewShard(now)
				}
				live.Partial = true
				w.c.deps.Live.Merger.Hand(w.liveID, live)
			}
			return
		}
		if live == nil && w.c.deps.Live != nil && w.c.deps.Live.Watching.Load() {
			live = w.c.deps.Live.Merger.NewShard(now)
			liveNext = time.Unix(live.Start, 0).Add(liveInterval)
		}
		if err != nil {
			continue // the deadline
		}
		for i := range msgs[:n] {
			msg := &msgs[i]
			ua, ok := msg.Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			w.process(msg.Buffers[0][:msg.N], ua.AddrPort(), shard, live, emit)
		}
		// Counted once processed, so that a reader of the metric knows
		// these datagrams are in the shard.
		w.packets.Add(uint64(n))
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func (w *worker) process(pkt []byte, src netip.AddrPort, shard, live *aggregate.Shard, emit func(*decode.Record)) {
	tab := w.c.deps.Table.Load()
	var e *classify.Exporter
	if !w.sflow {
		// NetFlow exporters are known by the source address: do not even
		// learn templates from others.
		if e = w.exporters.Exporter(tab, src.Addr()); e == nil {
			w.c.countUnknown(src.Addr().Unmap())
			return
		}
	}
	w.recs = w.recs[:0]
	if !w.sflow {
		// The exporter is known before decoding: classify each record as
		// it is decoded, without copying it.
		w.exp, w.shard, w.live, w.classified = e, shard, live, 0
		emit = w.classify
	}
	addr, err := w.dec.Decode(pkt, src, emit)
	if w.sflow {
		if !addr.IsValid() {
			addr = src.Addr() // the agent address could not be read
		}
		if e = w.exporters.Exporter(tab, addr); e == nil {
			w.c.countUnknown(addr.Unmap())
			return
		}
	}
	e.Counters.Packets.Add(1)
	if err != nil {
		reason := decode.ReasonMalformed
		var de *decode.Error
		if errors.As(err, &de) {
			reason = de.Reason
		}
		w.c.metrics.decodeErrors.WithLabelValues(e.Name, reason).Inc()
	}
	for i := range w.recs {
		e.ClassifyLive(w.c.logger, &w.recs[i], shard, live)
	}
	e.Counters.Flows.Add(w.classified + uint64(len(w.recs)))
}
