// Command lastfluss-enrich-test is an enricher with every attribute type,
// for the plugin host's tests.
package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/lastfluss/lastfluss/sdk"
)

func main() { sdk.ServeEnricher(&enricher{}) }

type enricher struct{ prefix string }

func (e *enricher) Info() sdk.Info { return sdk.Info{Name: "enrich-test", Version: "0.0.1"} }

func (e *enricher) ConfigSchema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "prefix", Type: sdk.TypeString, Required: true},
		{Name: "timeout", Type: sdk.TypeDuration, Default: "30s"},
		{Name: "password", Type: sdk.TypeString, Sensitive: true},
		{Name: "tags", Type: sdk.TypeList, Default: []string{"a"}},
		{Name: "verbose", Type: sdk.TypeBool, Default: false},
		{Name: "limit", Type: sdk.TypeNumber},
	}}
}

func (e *enricher) Configure(_ context.Context, cfg sdk.Config) error {
	if cfg.String("prefix") == "refuse" {
		return errors.New("prefix \"refuse\" is refused")
	}
	e.prefix = cfg.String("prefix")
	sdk.Logger().Warn("configured", "prefix", e.prefix)
	return nil
}

func (e *enricher) Enrich(_ context.Context, asns []uint32) (map[uint32]sdk.ASInfo, error) {
	out := map[uint32]sdk.ASInfo{}
	for _, a := range asns {
		if a%2 == 0 {
			out[a] = sdk.ASInfo{Name: fmt.Sprintf("%s%d", e.prefix, a), Country: "DE"}
		}
	}
	return out, nil
}
