package flowgen

import (
	"bytes"
	"fmt"
	"strconv"
)

// Scenario is a generated run held in memory.
type Scenario struct {
	Exporters []Exporter
	Datagrams []Datagram
	Truth     *Truth
	Config    []byte // HCL exporter blocks, see Config
}

// Generate produces datagrams until opts.Flows flow records are in them.
func Generate(opts Options) (*Scenario, error) {
	flows := opts.Flows
	g, err := NewGenerator(opts)
	if err != nil {
		return nil, err
	}
	s := &Scenario{Exporters: g.Exporters(), Config: g.Config()}
	for sent := 0; sent < flows; {
		d, err := g.Next(flows - sent)
		if err != nil {
			return nil, err
		}
		sent += d.Flows
		s.Datagrams = append(s.Datagrams, d)
	}
	s.Truth = g.Truth()
	return s, nil
}

// Config is the collector configuration of the scenario's exporters: HCL
// `exporter` blocks a collector config can include verbatim.
func (g *Generator) Config() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# lastfluss flowgen, seed %d: %d exporters, sampling rate %d.\n",
		g.opts.Seed, len(g.exps), g.opts.SamplingRate)
	for _, e := range g.exps {
		fmt.Fprintf(&b, "\n# %s, rate: %s", e.Protocol, e.RateStyle)
		if e.Source != e.Address {
			fmt.Fprintf(&b, ", sent from %s", e.Source)
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "exporter %s {\n", strconv.Quote(e.Name))
		fmt.Fprintf(&b, "  address = %q\n", e.Address.String())
		if e.ConfiguredRate != 0 {
			if e.AnnouncedRate != 0 {
				b.WriteString("  # the announced rate wins over this one\n")
			}
			fmt.Fprintf(&b, "  sampling_rate = %d\n", e.ConfiguredRate)
		}
		if e.LocalASN != 0 {
			fmt.Fprintf(&b, "  local_asn = %d\n", e.LocalASN)
		}
		if e.RecordsBoth {
			b.WriteString("  records = \"both\"\n")
		}
		for _, itf := range e.Interfaces {
			fmt.Fprintf(&b, "\n  interface %s {\n", strconv.Quote(itf.Name))
			fmt.Fprintf(&b, "    ifindex = %d\n", itf.IfIndex)
			fmt.Fprintf(&b, "    role    = %q\n", itf.Role)
			b.WriteString("  }\n")
		}
		b.WriteString("}\n")
	}
	return b.Bytes()
}
