package flowgen

import (
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/classify"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/core/decode"
)

// TestTruthMatchesPipeline feeds a scenario through the collector's own
// decode → classify → aggregate stages, without sockets, and compares the
// batch with the truth.
func TestTruthMatchesPipeline(t *testing.T) {
	o := DefaultOptions()
	o.Exporters, o.NoRateExporter, o.Flows, o.Malformed = 8, 4, 30000, 0.02
	s, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	src := append([]byte("collector_id = \"flowgen\"\nlisten \"netflow\" {\n  address = \"127.0.0.1:2055\"\n}\n"), s.Config...)
	cfg, diags := config.Parse(src, "flowgen.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := aggregate.NewRegistry()
	table := classify.NewTable(cfg, reg, nil)
	acfg := aggregate.DefaultConfiguration()
	acfg.MaxUnclassified = 1000
	var batch *aggregate.Batch
	m := aggregate.NewMerger(logger, acfg, reg, func(b *aggregate.Batch) { batch = b })
	worker := m.AddWorker()
	shard := m.NewShard(time.Now())
	nf, sf := decode.NewNetFlow(decode.NewTemplates()), decode.NewSFlow()
	for i, d := range s.Datagrams {
		dec := nf
		if d.Target == TargetSFlow {
			dec = sf
		}
		var recs []decode.Record
		addr, err := dec.Decode(d.Payload, netip.AddrPortFrom(d.Src, 40000), func(r *decode.Record) { recs = append(recs, *r) })
		var derr *decode.Error
		switch {
		case d.Malformed == "" && err != nil:
			t.Fatalf("datagram %d: valid, rejected: %v", i, err)
		case d.Malformed != "" && !errors.As(err, &derr):
			t.Fatalf("datagram %d: %s, accepted (err %v)", i, d.Malformed, err)
		case d.Malformed != "" && len(recs) > 0:
			t.Fatalf("datagram %d: %s, %d records emitted", i, d.Malformed, len(recs))
		case err != nil:
			continue
		}
		e := table.Exporter(addr)
		if e == nil {
			t.Fatalf("datagram %d: exporter %s not configured", i, addr)
		}
		for j := range recs {
			e.Classify(logger, &recs[j], shard)
		}
	}
	shard.Partial = true
	m.Hand(worker, shard)
	if batch == nil {
		t.Fatal("no batch")
	}
	var rows []TruthRow
	for _, r := range batch.Rows {
		itf := batch.Interfaces[r.Interface]
		rows = append(rows, TruthRow{Exporter: itf.Exporter, Interface: itf.Name, IfIndex: itf.IfIndex, Role: itf.Role,
			Direction: r.Direction.String(), RemoteASN: r.RemoteASN, LocalASN: r.LocalASN, IPVersion: r.IPVersion,
			Bytes: r.Bytes, Packets: r.Packets, Flows: r.Flows})
	}
	SortRows(rows)
	if d := cmp.Diff(rows, s.Truth.Rows); d != "" {
		t.Errorf("rows (-pipeline +truth):\n%s", d)
	}
	var uncl, want []TruthUnclassified
	for _, u := range batch.Unclassified {
		uncl = append(uncl, TruthUnclassified{Exporter: u.Exporter, IfIndex: u.IfIndex, Bytes: u.Bytes, Flows: u.Flows})
	}
	SortUnclassified(uncl)
	for _, u := range s.Truth.Unclassified {
		u.Packets = 0 // batches carry no unclassified packets
		want = append(want, u)
	}
	if d := cmp.Diff(uncl, want); d != "" {
		t.Errorf("unclassified (-pipeline +truth):\n%s", d)
	}
	for _, te := range s.Truth.Exporters {
		var got uint64
		for _, e := range table.Exporters() {
			if e.Name == te.Name {
				got = e.Counters.Flows.Load()
			}
		}
		if got != te.FlowsSent {
			t.Errorf("%s: %d flows classified, truth %d (%d non-IP)", te.Name, got, te.FlowsSent, te.NonIPSent)
		}
	}
}
