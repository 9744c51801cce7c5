package decode

import (
	"net/netip"
	"testing"
)

// The decoders side by side on the same 24-record datagrams, templates
// loaded first: go test -bench Decode -count 5 ./core/decode/ (ns/record
// is the figure to compare).

func benchIPFIXPackets() (template, data []byte) {
	recs := make([][]uint64, benchRecords)
	for i := range recs {
		n := uint64(i)
		recs[i] = []uint64{0x0a000000 + n, 0xc0000200 + n, 1024 + n, 443, 6, 0, 0x18,
			531, 7 + n, 174, 64500, 24, 24, 0xc0000201, 1500 * (n + 1), n + 1, 1000, 2000, n % 2}
	}
	return message(10, 0, templateSet(10, 256, benchFields...)),
		message(10, 0, dataSet(256, benchFields, recs...))
}

func benchV5Packet() []byte {
	recs := make([]v5Rec, benchRecords)
	for i := range recs {
		recs[i] = v5Rec{In: 531, Out: uint16(7 + i), Pkts: uint32(i + 1), Octets: uint32(1500 * (i + 1)), SrcAS: 174, DstAS: 64500}
	}
	return encodeV5(0x4000|1000, -1, recs...)
}

func benchSFlowPacket() []byte {
	var samples [][]byte
	for i := range 8 {
		samples = append(samples, sfFlowSample(1000, 531, uint32(7+i),
			sfRawHeader(1518, 4, ethIPv4(1500, 100)), sfGateway(174, 3320, 64501)))
	}
	return sfDatagram(agentA, samples...)
}

// benchDecode runs one decoder on data after decoding setup.
func benchDecode(b *testing.B, d Decoder, setup, data []byte, src netip.AddrPort, records int) {
	var bytesSeen uint64
	n := 0
	emit := func(r *Record) { bytesSeen += r.Bytes; n++ }
	if setup != nil {
		if _, err := d.Decode(setup, src, emit); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	n = 0
	loops := 0
	for b.Loop() {
		if _, err := d.Decode(data, src, emit); err != nil {
			b.Fatal(err)
		}
		loops++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(loops*records), "ns/record")
	if n != loops*records || bytesSeen == 0 {
		b.Fatalf("emitted %d records, want %d", n, loops*records)
	}
}

func BenchmarkDecodeV9(b *testing.B) {
	tmpl, data := benchPackets()
	b.Run("goflow2", func(b *testing.B) { benchDecode(b, NewNetFlow(NewTemplates()), tmpl, data, srcA, benchRecords) })
	b.Run("fast", func(b *testing.B) { benchDecode(b, NewFastNetFlow(NewTemplates()), tmpl, data, srcA, benchRecords) })
}

func BenchmarkDecodeIPFIX(b *testing.B) {
	tmpl, data := benchIPFIXPackets()
	b.Run("goflow2", func(b *testing.B) { benchDecode(b, NewNetFlow(NewTemplates()), tmpl, data, srcA, benchRecords) })
	b.Run("fast", func(b *testing.B) { benchDecode(b, NewFastNetFlow(NewTemplates()), tmpl, data, srcA, benchRecords) })
}

func BenchmarkDecodeV5(b *testing.B) {
	data := benchV5Packet()
	b.Run("goflow2", func(b *testing.B) { benchDecode(b, NewNetFlow(NewTemplates()), nil, data, srcA, benchRecords) })
	b.Run("fast", func(b *testing.B) { benchDecode(b, NewFastNetFlow(NewTemplates()), nil, data, srcA, benchRecords) })
}

func BenchmarkDecodeSFlow(b *testing.B) {
	data := benchSFlowPacket()
	b.Run("goflow2", func(b *testing.B) { benchDecode(b, NewSFlow(), nil, data, sflowSrc, 8) })
	b.Run("fast", func(b *testing.B) { benchDecode(b, NewFastSFlow(), nil, data, sflowSrc, 8) })
}
