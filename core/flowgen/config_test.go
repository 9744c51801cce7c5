package flowgen

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lastfluss/lastfluss/core/config"
)

// TestConfigLoads includes the generated exporter blocks in a collector
// configuration and checks that the config loader reads back the scenario.
func TestConfigLoads(t *testing.T) {
	o := DefaultOptions()
	o.Exporters, o.NoRateExporter = 8, 1
	g, err := NewGenerator(o)
	if err != nil {
		t.Fatal(err)
	}
	src := append([]byte("collector_id = \"flowgen\"\n\nlisten \"netflow\" {\n  address = \"127.0.0.1:2055\"\n}\n\n"), g.Config()...)
	cfg, diags := config.Parse(src, "flowgen.hcl")
	if diags.HasErrors() {
		t.Fatalf("config does not load: %s\n%s", diags.Error(), src)
	}
	type exp struct {
		Name, Address, Records string
		Rate, LocalASN         uint32
		Interfaces             []Interface
	}
	var got, want []exp
	for _, e := range cfg.Exporters {
		x := exp{Name: e.Name, Address: e.Address.String(), Records: e.Records, Rate: e.SamplingRate, LocalASN: e.LocalASN}
		for _, i := range e.Interfaces {
			x.Interfaces = append(x.Interfaces, Interface{IfIndex: i.IfIndex, Name: i.Name, Role: i.Role})
		}
		got = append(got, x)
	}
	for _, e := range g.Exporters() {
		x := exp{Name: e.Name, Address: e.Address.String(), Records: config.RecordsIngress, Rate: e.ConfiguredRate, LocalASN: e.LocalASN,
			Interfaces: e.Interfaces}
		if e.RecordsBoth {
			x.Records = config.RecordsBoth
		}
		want = append(want, x)
	}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("loaded exporters (-got +want):\n%s", d)
	}
}
