package decode_test

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/classify"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/core/decode"
	"github.com/lastfluss/lastfluss/core/flowgen"
)

// BenchmarkPipeline measures what a collector worker does per record —
// decode, classify, aggregate into its shard — on a flowgen stream, beside
// the reference decoder alone on the same datagrams. The stream: 2
// NetFlow v9 exporters, 24 records per datagram, sampling 1:1000; and one
// with every protocol.
func BenchmarkPipeline(b *testing.B) {
	for _, tc := range []struct {
		name      string
		protocols []string
		exporters int
	}{
		{"v9", []string{flowgen.ProtoV9}, 2},
		{"mixed", []string{flowgen.ProtoV5, flowgen.ProtoV9, flowgen.ProtoIPFIX, flowgen.ProtoSFlow}, 4},
	} {
		o := flowgen.DefaultOptions()
		o.Protocols, o.Exporters, o.Flows, o.Malformed = tc.protocols, tc.exporters, 24*500, 0
		o.SamplingRate, o.RecordsPerPacket = 1000, 24
		s, err := flowgen.Generate(o)
		if err != nil {
			b.Fatal(err)
		}
		src := append([]byte("collector_id = \"bench\"\nlisten \"netflow\" {\n  address = \"127.0.0.1:2055\"\n}\n"), s.Config...)
		cfg, diags := config.Parse(src, "bench.hcl")
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		for _, fast := range []bool{false, true} {
			name := tc.name + "/goflow2"
			if fast {
				name = tc.name + "/fast"
			}
			b.Run(name+"-decode", func(b *testing.B) { benchPipeline(b, s, cfg, fast, false) })
			b.Run(name+"-pipeline", func(b *testing.B) { benchPipeline(b, s, cfg, fast, true) })
		}
	}
}

func benchPipeline(b *testing.B, s *flowgen.Scenario, cfg *config.Config, fast, classifyToo bool) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	table := classify.NewTable(cfg, aggregate.NewRegistry(), nil)
	shard := aggregate.NewShard(0, 1_000_000, 10_000)
	store := decode.NewTemplates()
	nf, sf := decode.NewNetFlow(store), decode.NewSFlow()
	if fast {
		nf, sf = decode.NewFastNetFlow(store), decode.NewFastSFlow()
	}
	type packet struct {
		dec Decoder
		pkt []byte
		src netip.AddrPort
	}
	var pkts []packet
	for _, d := range s.Datagrams {
		p := packet{nf, d.Payload, netip.AddrPortFrom(d.Src, 40000)}
		if d.Target == flowgen.TargetSFlow {
			p.dec = sf
		}
		pkts = append(pkts, p)
	}
	// As a collector worker does: NetFlow records classified as they are
	// decoded (the exporter is the UDP source); sFlow records collected per
	// datagram, then classified under the agent; flows counted per datagram.
	var recs []decode.Record
	collect := func(r *decode.Record) { recs = append(recs, *r) }
	var exp *classify.Exporter
	var exporters classify.ExporterCache
	var n int
	direct := func(r *decode.Record) {
		n++
		exp.ClassifyLive(logger, r, shard, nil)
	}
	count := func(r *decode.Record) { n++ }
	records := 0
	run := func() {
		for _, p := range pkts {
			recs, n = recs[:0], 0
			emit := collect
			if p.dec == nf && classifyToo {
				if exp = exporters.Exporter(table, p.src.Addr()); exp == nil {
					b.Fatalf("exporter %s not configured", p.src.Addr())
				}
				emit = direct
			} else if !classifyToo {
				emit = count
			}
			addr, err := p.dec.Decode(p.pkt, p.src, emit)
			if err != nil {
				b.Fatal(err)
			}
			records += n + len(recs)
			if !classifyToo {
				continue
			}
			e := exporters.Exporter(table, addr)
			if e == nil {
				b.Fatalf("exporter %s not configured", addr)
			}
			for i := range recs {
				e.ClassifyLive(logger, &recs[i], shard, nil)
			}
			e.Counters.Flows.Add(uint64(n + len(recs)))
		}
	}
	run() // templates, rates and keys known from here on
	records = 0
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
	b.ReportMetric(float64(records)/float64(b.N), "records/op")
	if classifyToo && shard.Len() == 0 {
		b.Fatal("nothing aggregated")
	}
}

// Decoder is decode.Decoder, named short for the table above.
type Decoder = decode.Decoder
