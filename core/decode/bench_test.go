package decode

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// A template as a router exports it: addresses, ports, protocol, ToS,
// flags, interfaces, ASes, masks, next hop, counters, times, direction.
var benchFields = []field{
	f(8, 4), f(12, 4), f(7, 2), f(11, 2), f(4, 1), f(5, 1), f(6, 1),
	f(10, 4), f(14, 4), f(16, 4), f(17, 4), f(9, 1), f(13, 1), f(15, 4),
	f(1, 8), f(2, 8), f(22, 4), f(21, 4), f(61, 1),
}

const benchRecords = 24

func benchPackets() (template, data []byte) {
	recs := make([][]uint64, benchRecords)
	for i := range recs {
		n := uint64(i)
		recs[i] = []uint64{0x0a000000 + n, 0xc0000200 + n, 1024 + n, 443, 6, 0, 0x18,
			531, 7 + n, 174, 64500, 24, 24, 0xc0000201, 1500 * (n + 1), n + 1, 1000, 2000, n % 2}
	}
	return message(9, 0, templateSet(9, 256, benchFields...)),
		message(9, 0, dataSet(256, benchFields, recs...))
}

func BenchmarkNetFlowV9(b *testing.B) {
	tmpl, data := benchPackets()
	d := NewNetFlow(NewTemplates())
	var bytesSeen uint64
	emit := func(r *Record) { bytesSeen += r.Bytes }
	if _, err := d.Decode(tmpl, srcA, emit); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	loops := 0
	for b.Loop() {
		if _, err := d.Decode(data, srcA, emit); err != nil {
			b.Fatal(err)
		}
		loops++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(loops*benchRecords), "ns/record")
	if bytesSeen == 0 {
		b.Fatal("no bytes decoded")
	}
}

// BenchmarkNetFlowV9Goflow2 is the reference decoder alone, with its own
// template system, for comparison.
func BenchmarkNetFlowV9Goflow2(b *testing.B) {
	tmpl, data := benchPackets()
	ts := netflow.CreateTemplateSystem()
	var v9 netflow.NFv9Packet
	var ipfix netflow.IPFIXPacket
	if err := netflow.DecodeMessageVersion(bytes.NewBuffer(tmpl), ts, &v9, &ipfix); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	loops := 0
	for b.Loop() {
		if err := netflow.DecodeMessageVersion(bytes.NewBuffer(data), ts, &v9, &ipfix); err != nil {
			b.Fatal(err)
		}
		loops++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(loops*benchRecords), "ns/record")
}

func BenchmarkSFlow(b *testing.B) {
	var samples [][]byte
	for i := range 8 {
		samples = append(samples, sfFlowSample(1000, 531, uint32(7+i),
			sfRawHeader(1518, 4, ethIPv4(1500, 100)), sfGateway(174, 3320, 64501)))
	}
	pkt := sfDatagram(agentA, samples...)
	d := NewSFlow()
	n := 0
	emit := func(*Record) { n++ }
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	loops := 0
	for b.Loop() {
		if _, err := d.Decode(pkt, netip.AddrPortFrom(agentA, 6343), emit); err != nil {
			b.Fatal(err)
		}
		loops++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(loops*len(samples)), "ns/record")
	if n != loops*len(samples) {
		b.Fatalf("emitted %d records, want %d", n, loops*len(samples))
	}
}
