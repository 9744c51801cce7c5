package flowgen

import "testing"

// BenchmarkNext measures the generator: records per second it can produce,
// truth included.
func BenchmarkNext(b *testing.B) {
	for _, proto := range []string{ProtoV5, ProtoV9, ProtoIPFIX, ProtoSFlow} {
		b.Run(proto, func(b *testing.B) {
			o := DefaultOptions()
			o.Protocols = []string{proto}
			g, err := NewGenerator(o)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			flows := 0
			for b.Loop() {
				d, err := g.Next(0)
				if err != nil {
					b.Fatal(err)
				}
				flows += d.Flows
			}
			b.ReportMetric(float64(flows)/b.Elapsed().Seconds(), "flows/s")
		})
	}
}
