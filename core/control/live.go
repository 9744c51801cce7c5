package control

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/sdk/proto"
)

// idleLag is how long after a second's end an update with no traffic is
// sent for it: by then every worker has handed its shard for that second.
const idleLag = 2 * time.Second

// subscriber is one Live stream. publish only ever tries to put a second
// into ch; the stream's goroutine does the rest.
type subscriber struct {
	ch      chan *second
	dropped atomic.Uint64
}

// second is one closed second of the live merger, prepared once for all
// subscribers.
type second struct {
	batch *aggregate.Batch
	once  sync.Once
	dirs  map[ifaceKey]*[2]dirRows
	extra []aggregate.Interface // interfaces of the batch, in order
}

type ifaceKey struct {
	exporter string
	ifindex  uint32
}

type dirRows struct {
	total liveRow
	rows  []liveRow // by bytes, biggest first
}

// liveRow is a remote ASN's traffic in one second, local ASNs and IP
// versions added up.
type liveRow struct {
	remote                uint32
	other                 bool
	bytes, packets, flows uint64
}

// publish is the live merger's out: it runs on a collector worker, so it
// never blocks. A subscriber whose buffer is full misses this second.
func (s *Server) publish(b *aggregate.Batch) {
	sec := &second{batch: b}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subscribers {
		select {
		case sub.ch <- sec:
		default:
			sub.dropped.Add(1)
			s.metrics.dropped.Inc()
		}
	}
}

func (s *Server) subscribe() (*subscriber, time.Time, bool) {
	sub := &subscriber{ch: make(chan *second, s.cfg.Buffer)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, time.Time{}, false
	}
	if len(s.subscribers) == 0 {
		s.watchSince = time.Now()
		s.live.Watching.Store(true)
	}
	s.subscribers[sub] = struct{}{}
	s.metrics.clients.Set(float64(len(s.subscribers)))
	return sub, s.watchSince, true
}

func (s *Server) unsubscribe(sub *subscriber) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subscribers, sub)
	if len(s.subscribers) == 0 {
		s.live.Watching.Store(false)
	}
	s.metrics.clients.Set(float64(len(s.subscribers)))
}

// Live streams one update per second until the client goes or the server
// stops.
func (s *Server) Live(req *proto.LiveRequest, stream grpc.ServerStreamingServer[proto.LiveUpdate]) error {
	top := int(req.GetTop())
	if top <= 0 {
		top = s.cfg.Top
	}
	sub, since, ok := s.subscribe()
	if !ok {
		return nil
	}
	defer s.unsubscribe(sub)
	// Workers start their one-second shards at their first datagram after
	// Watching was set: the second in which that happened is incomplete.
	last := since.Truncate(time.Second).Unix()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	ctx := stream.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case sec := <-sub.ch:
			start := sec.batch.Start.Unix()
			if start <= last || sec.batch.Partial {
				// Incomplete (the first second watched, or the last one
				// at shutdown), or an idle update went out for it.
				continue
			}
			last = start
			if err := stream.Send(s.update(sec, top, sub.dropped.Load())); err != nil {
				return err
			}
		case now := <-tick.C:
			// No batch for a second with no traffic: say so, so that a
			// client shows zero rather than the last busy second.
			idle := now.Add(-idleLag).Truncate(time.Second).Unix()
			if idle <= last {
				continue
			}
			last = idle
			empty := &second{batch: &aggregate.Batch{Start: time.Unix(idle, 0).UTC()}}
			if err := stream.Send(s.update(empty, top, sub.dropped.Load())); err != nil {
				return err
			}
		}
	}
}

// prepare adds the batch's rows up per interface, direction and remote
// ASN (local ASN and IP version folded) and sorts them by bytes.
func (sec *second) prepare() {
	sec.once.Do(func() {
		b := sec.batch
		sec.dirs = make(map[ifaceKey]*[2]dirRows, len(b.Interfaces))
		type rowKey struct {
			iface  uint32
			dir    aggregate.Direction
			remote uint32
			other  bool
		}
		// Rows differing only in local ASN or IP version are usually
		// next to each other in neither order: a map folds them.
		index := make(map[rowKey]int, len(b.Rows))
		merged := make([]liveRow, 0, len(b.Rows))
		keys := make([]rowKey, 0, len(b.Rows))
		for _, r := range b.Rows {
			k := rowKey{r.Interface, r.Direction, r.RemoteASN, r.Other}
			i, ok := index[k]
			if !ok {
				i = len(merged)
				index[k] = i
				merged = append(merged, liveRow{remote: r.RemoteASN, other: r.Other})
				keys = append(keys, k)
			}
			lr := &merged[i]
			lr.bytes += r.Bytes
			lr.packets += r.Packets
			lr.flows += r.Flows
		}
		for i, lr := range merged {
			k := keys[i]
			bi := b.Interfaces[k.iface]
			ik := ifaceKey{bi.Exporter, bi.IfIndex}
			d, ok := sec.dirs[ik]
			if !ok {
				d = new([2]dirRows)
				sec.dirs[ik] = d
				sec.extra = append(sec.extra, bi)
			}
			dr := &d[k.dir]
			dr.total.bytes += lr.bytes
			dr.total.packets += lr.packets
			dr.total.flows += lr.flows
			dr.rows = append(dr.rows, lr)
		}
		for _, d := range sec.dirs {
			for i := range d {
				slices.SortFunc(d[i].rows, func(x, y liveRow) int {
					return cmp.Or(cmp.Compare(y.bytes, x.bytes), cmpBool(x.other, y.other), cmp.Compare(x.remote, y.remote))
				})
			}
		}
		slices.SortFunc(sec.extra, func(x, y aggregate.Interface) int {
			return cmp.Or(cmp.Compare(x.Exporter, y.Exporter), cmp.Compare(x.IfIndex, y.IfIndex))
		})
	})
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// update is the client's view of sec: every declared interface in config
// order (idle ones with zeros), then any the batch has that the current
// configuration lost, each direction cut to top rows.
func (s *Server) update(sec *second, top int, dropped uint64) *proto.LiveUpdate {
	sec.prepare()
	u := &proto.LiveUpdate{SecondUnixMs: sec.batch.Start.UnixMilli(), Dropped: dropped}
	seen := make(map[ifaceKey]bool)
	asns := make(map[uint32]bool)
	add := func(info *proto.InterfaceInfo) {
		k := ifaceKey{info.Exporter, info.Ifindex}
		seen[k] = true
		li := &proto.LiveInterface{Info: info, In: &proto.LiveDirection{}, Out: &proto.LiveDirection{}}
		if d := sec.dirs[k]; d != nil {
			li.In = direction(&d[aggregate.In], top, asns)
			li.Out = direction(&d[aggregate.Out], top, asns)
		}
		if info.PeerAsn != 0 {
			asns[info.PeerAsn] = true
		}
		u.Interfaces = append(u.Interfaces, li)
	}
	for _, e := range s.config.Load().Exporters {
		for _, i := range e.Interfaces {
			add(interfaceInfo(e, i))
		}
	}
	for _, bi := range sec.extra {
		if !seen[ifaceKey{bi.Exporter, bi.IfIndex}] {
			add(&proto.InterfaceInfo{Exporter: bi.Exporter, Name: bi.Name, Ifindex: bi.IfIndex, Role: bi.Role,
				PeerAsn: bi.PeerASN, Description: bi.Description})
		}
	}
	if s.deps.Names != nil {
		for asn := range asns {
			if info, ok := s.deps.Names.ASName(asn); ok && info.Name != "" {
				if u.AsNames == nil {
					u.AsNames = make(map[uint32]string)
				}
				u.AsNames[asn] = info.Name
			}
		}
	}
	return u
}

func direction(d *dirRows, top int, asns map[uint32]bool) *proto.LiveDirection {
	ld := &proto.LiveDirection{Bytes: d.total.bytes, Packets: d.total.packets, Flows: d.total.flows}
	rows := d.rows[:min(top, len(d.rows))]
	ld.Rows = make([]*proto.LiveRow, len(rows))
	for i, r := range rows {
		ld.Rows[i] = &proto.LiveRow{RemoteAsn: r.remote, Other: r.other, Bytes: r.bytes, Packets: r.packets, Flows: r.flows}
		if !r.other {
			asns[r.remote] = true
		}
	}
	return ld
}

func interfaceInfo(e config.Exporter, i config.Interface) *proto.InterfaceInfo {
	return &proto.InterfaceInfo{
		Exporter:    e.Name,
		Name:        i.Name,
		Ifindex:     i.IfIndex,
		Role:        i.Role,
		PeerAsn:     i.PeerASN,
		Speed:       i.Speed,
		Description: i.Description,
	}
}
