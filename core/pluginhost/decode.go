package pluginhost

import (
	"fmt"
	"maps"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/sdk"
)

// ctyType is the HCL type of each attribute type a schema may use.
// Durations are strings, parsed after decoding.
var ctyType = map[sdk.AttrType]cty.Type{
	sdk.TypeString:   cty.String,
	sdk.TypeNumber:   cty.Number,
	sdk.TypeBool:     cty.Bool,
	sdk.TypeDuration: cty.String,
	sdk.TypeList:     cty.List(cty.String),
}

// decodeConfig decodes a block's `config {}` body against the plugin's
// schema: unknown, ill-typed and missing attributes and bad durations are
// diagnostics with their place in the file.
func decodeConfig(p config.Plugin, s sdk.Schema) (sdk.Config, hcl.Diagnostics) {
	spec := hcldec.ObjectSpec{}
	attrs := map[string]*hcldec.AttrSpec{}
	for _, a := range s.Attributes {
		t, ok := ctyType[a.Type]
		if !ok {
			return nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Unusable plugin schema",
				Detail:   fmt.Sprintf("Plugin %q declares attribute %q of unknown type %q.", p.Plugin, a.Name, a.Type),
				Subject:  p.Range.Ptr(),
			}}
		}
		as := &hcldec.AttrSpec{Name: a.Name, Type: t, Required: a.Required}
		attrs[a.Name] = as
		spec[a.Name] = as
		if a.Default != nil {
			d, err := gocty.ToCtyValue(a.Default, t)
			if err != nil {
				return nil, hcl.Diagnostics{{
					Severity: hcl.DiagError,
					Summary:  "Unusable plugin schema",
					Detail:   fmt.Sprintf("Plugin %q gives attribute %q a default that is not a %s: %v.", p.Plugin, a.Name, a.Type, err),
					Subject:  p.Range.Ptr(),
				}}
			}
			spec[a.Name] = &hcldec.DefaultSpec{Primary: as, Default: &hcldec.LiteralSpec{Value: d}}
		}
	}

	body := p.Config
	if body == nil {
		body = hcl.EmptyBody()
	}
	val, diags := hcldec.Decode(body, spec, config.EvalContext(p.BaseDir))
	for _, d := range diags {
		// A missing attribute in an absent config block has no place of
		// its own: point at the plugin's block.
		if d.Subject == nil || d.Subject.Filename == "" {
			d.Subject = p.Range.Ptr()
		}
	}
	if val.IsNull() || !val.IsKnown() {
		return nil, config.SortDiags(diags)
	}

	// Go on after errors, so that a bad duration is reported with them.
	cfg := sdk.Config{}
	for _, a := range s.Attributes {
		v := val.GetAttr(a.Name)
		if v.IsNull() || !v.IsWhollyKnown() {
			continue
		}
		switch a.Type {
		case sdk.TypeString:
			cfg[a.Name] = v.AsString()
		case sdk.TypeNumber:
			f, _ := v.AsBigFloat().Float64()
			cfg[a.Name] = f
		case sdk.TypeBool:
			cfg[a.Name] = v.True()
		case sdk.TypeDuration:
			d, err := time.ParseDuration(v.AsString())
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid duration",
					Detail:   fmt.Sprintf("%s: %v; write a duration such as \"30s\" or \"5m\".", a.Name, err),
					Subject:  hcldec.SourceRange(body, attrs[a.Name]).Ptr(),
				})
				continue
			}
			cfg[a.Name] = d
		case sdk.TypeList:
			l := []string{}
			for _, e := range v.AsValueSlice() {
				if e.IsNull() {
					continue
				}
				l = append(l, e.AsString())
			}
			cfg[a.Name] = l
		}
	}
	// hcldec walks its spec as a map: give the operator file order.
	diags = config.SortDiags(diags)
	if diags.HasErrors() {
		return nil, diags
	}
	return cfg, diags
}

// Masked is cfg for display: sensitive attributes' values replaced.
func Masked(s sdk.Schema, cfg sdk.Config) sdk.Config {
	out := maps.Clone(cfg)
	for _, a := range s.Attributes {
		if _, set := out[a.Name]; set && a.Sensitive {
			out[a.Name] = "(sensitive)"
		}
	}
	return out
}
