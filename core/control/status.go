package control

import (
	"time"

	"github.com/lastfluss/lastfluss/sdk/proto"
)

// status gathers what the Status call reports.
func (s *Server) status(now time.Time) *proto.StatusResponse {
	cfg := s.config.Load()
	r := &proto.StatusResponse{
		CollectorId:   cfg.CollectorID,
		Version:       s.cfg.Version,
		StartedUnixMs: s.started.UnixMilli(),
		UptimeMs:      now.Sub(s.started).Milliseconds(),
		IntervalMs:    cfg.Interval.Milliseconds(),
		Incarnation:   s.deps.Incarnation,
	}
	counters := make(map[string]*proto.ExporterStatus)
	for _, e := range s.deps.Table.Load().Exporters() {
		counters[e.Name] = &proto.ExporterStatus{
			Packets:         e.Counters.Packets.Load(),
			Flows:           e.Counters.Flows.Load(),
			Unclassified:    e.Counters.Unclassified.Load(),
			SamplingAssumed: e.Counters.SamplingAssumed.Load(),
		}
	}
	for _, e := range cfg.Exporters {
		es := counters[e.Name]
		if es == nil {
			es = new(proto.ExporterStatus) // a reload in between
		}
		es.Name = e.Name
		es.Address = e.Address.String()
		for _, i := range e.Interfaces {
			es.Interfaces = append(es.Interfaces, interfaceInfo(e, i))
		}
		r.Exporters = append(r.Exporters, es)
	}
	for _, l := range cfg.Listen {
		r.Listeners = append(r.Listeners, &proto.ListenerStatus{Protocol: l.Protocol, Address: l.Address, Workers: uint32(max(l.Workers, 1))})
	}
	if s.deps.Sinks != nil {
		for _, st := range s.deps.Sinks.Status() {
			r.Sinks = append(r.Sinks, &proto.SinkStatus{
				Name:                st.Name,
				QueuedBatches:       uint64(max(st.QueuedBatches, 0)),
				QueuedBytes:         uint64(max(st.QueuedBytes, 0)),
				LastDeliveredUnixMs: unixMilli(st.LastDelivered),
				Failures:            uint32(max(st.Failures, 0)),
				LastError:           st.LastError,
				LastErrorUnixMs:     unixMilli(st.LastErrorTime),
			})
		}
	}
	if s.deps.Unclassified != nil {
		start, list := s.deps.Unclassified()
		r.UnclassifiedIntervalStartUnixMs = unixMilli(start)
		for _, u := range list {
			r.Unclassified = append(r.Unclassified, &proto.UnclassifiedTraffic{Exporter: u.Exporter, Ifindex: u.IfIndex, Bytes: u.Bytes, Flows: u.Flows})
		}
	}
	if s.deps.Templates != nil {
		r.Templates = uint64(s.deps.Templates.Len())
	}
	s.mu.Lock()
	r.LiveClients = uint32(len(s.subscribers))
	s.mu.Unlock()
	return r
}

// unixMilli is t in Unix milliseconds, 0 for the zero time.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
