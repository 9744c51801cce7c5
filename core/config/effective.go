package config

import (
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Masked replaces the value of a sensitive attribute in Effective.
const Masked = "(sensitive)"

// MaskFunc says whether an attribute of plugin p's config block must be
// masked. path is the attribute name, prefixed by the types of the blocks
// it is nested in: "dsn", "tls.password".
type MaskFunc func(p Plugin, path string) bool

// sensitiveWords are name parts that suggest a secret.
var sensitiveWords = []string{"password", "passwd", "pass", "passphrase", "secret", "token", "dsn", "key", "apikey", "credentials"}

// MaskByName masks attributes whose name suggests a secret: a part of the
// last name in path (split at "_" and "-") is one of password, pass,
// secret, token, dsn, key…, or the name contains password, secret or token.
// The plugin host masks by schema as well; this catches the rest.
func MaskByName(_ Plugin, path string) bool {
	name := strings.ToLower(path[strings.LastIndexByte(path, '.')+1:])
	for _, w := range []string{"password", "secret", "token"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '_' || r == '-' }) {
		if slices.Contains(sensitiveWords, part) {
			return true
		}
	}
	return false
}

// Effective renders the configuration as HCL with every default applied and
// absolute paths, one deterministic rendering of everything Lastfluss will
// use. Plugin config bodies are shown attribute by attribute, evaluated;
// those mask says are sensitive (MaskByName when mask is nil) read
// "(sensitive)", and passwords in URLs are always masked.
// Parsing the output (with nothing masked) gives the same configuration.
func (c *Config) Effective(mask MaskFunc) string {
	if mask == nil {
		mask = MaskByName
	}
	f := hclwrite.NewEmptyFile()
	b := f.Body()
	// A newline in the file name would end the comment.
	comment(b, "Effective configuration read from "+strings.ReplaceAll(c.File, "\n", `\n`))
	b.SetAttributeValue("collector_id", cty.StringVal(c.CollectorID))
	b.SetAttributeValue("interval", cty.StringVal(FormatDuration(c.Interval)))
	b.SetAttributeValue("max_keys", cty.NumberIntVal(int64(c.MaxKeys)))
	b.SetAttributeValue("plugin_dir", cty.StringVal(c.PluginDir))
	b.SetAttributeValue("state_dir", cty.StringVal(c.StateDir))

	b.AppendNewline()
	lb := b.AppendNewBlock("log", nil).Body()
	lb.SetAttributeValue("level", cty.StringVal(c.Log.Level))
	lb.SetAttributeValue("format", cty.StringVal(c.Log.Format))

	for _, l := range c.Listen {
		b.AppendNewline()
		lb := b.AppendNewBlock("listen", []string{l.Protocol}).Body()
		lb.SetAttributeValue("address", cty.StringVal(l.Address))
		lb.SetAttributeValue("workers", cty.NumberIntVal(int64(l.Workers)))
		lb.SetAttributeValue("receive_buffer", cty.StringVal(FormatSize(int64(l.ReceiveBuffer))))
		lb.SetAttributeValue("spread", cty.StringVal(l.Spread))
	}

	b.AppendNewline()
	b.AppendNewBlock("control", nil).Body().SetAttributeValue("socket", cty.StringVal(c.Control.Socket))

	b.AppendNewline()
	if c.Metrics.Address != "" {
		b.AppendNewBlock("metrics", nil).Body().SetAttributeValue("address", cty.StringVal(c.Metrics.Address))
	} else {
		comment(b, "No metrics block: no metrics endpoint.")
	}

	for _, e := range c.Exporters {
		b.AppendNewline()
		eb := b.AppendNewBlock("exporter", []string{e.Name}).Body()
		eb.SetAttributeValue("address", cty.StringVal(e.Address.String()))
		eb.SetAttributeValue("sampling_rate", optUint(e.SamplingRate))
		eb.SetAttributeValue("force_sampling_rate", optUint(e.ForceSamplingRate))
		eb.SetAttributeValue("local_asn", optUint(e.LocalASN))
		eb.SetAttributeValue("records", cty.StringVal(e.Records))
		for _, i := range e.Interfaces {
			eb.AppendNewline()
			ib := eb.AppendNewBlock("interface", []string{i.Name}).Body()
			ib.SetAttributeValue("ifindex", cty.NumberUIntVal(uint64(i.IfIndex)))
			ib.SetAttributeValue("role", cty.StringVal(i.Role))
			ib.SetAttributeValue("peer_asn", optUint(i.PeerASN))
			ib.SetAttributeValue("description", optString(i.Description))
			speed := cty.NullVal(cty.String)
			if i.Speed != 0 {
				speed = cty.StringVal(FormatSpeed(i.Speed))
			}
			ib.SetAttributeValue("speed", speed)
			ib.SetAttributeValue("sampling_rate", optUint(i.SamplingRate))
			ib.SetAttributeValue("force_sampling_rate", optUint(i.ForceSamplingRate))
		}
	}

	for _, list := range [][]Plugin{c.Enrich, c.Sinks} {
		for _, p := range list {
			b.AppendNewline()
			pb := b.AppendNewBlock(p.Kind, []string{p.Name}).Body()
			pb.SetAttributeValue("plugin", cty.StringVal(p.Plugin))
			if p.Kind == "sink" {
				pb.AppendNewline()
				qb := pb.AppendNewBlock("queue", nil).Body()
				qb.SetAttributeValue("max_size", cty.StringVal(FormatSize(p.QueueMaxSize)))
				qb.SetAttributeValue("on_full", cty.StringVal(p.QueueOnFull))
			}
			pb.AppendNewline()
			cb := pb.AppendNewBlock("config", nil).Body()
			writeBody(cb, p.Config, EvalContext(p.BaseDir), "", func(path string) bool { return mask(p, path) })
		}
	}
	return string(hclwrite.Format(f.Bytes()))
}

// WriteEffective writes Effective(mask) to w.
func (c *Config) WriteEffective(w io.Writer, mask MaskFunc) error {
	_, err := io.WriteString(w, c.Effective(mask))
	return err
}

// writeBody renders a plugin's config body attribute by attribute, nested
// blocks after the attributes, both in source order.
func writeBody(out *hclwrite.Body, body hcl.Body, ctx *hcl.EvalContext, prefix string, masked func(string) bool) {
	var attrs []*hcl.Attribute
	var blocks []*hclsyntax.Block
	if sb, ok := body.(*hclsyntax.Body); ok {
		for _, a := range sortedAttrs(sb) {
			attrs = append(attrs, a.AsHCLAttribute())
		}
		blocks = sb.Blocks
	} else if as, diags := body.JustAttributes(); !diags.HasErrors() {
		for _, a := range as {
			attrs = append(attrs, a)
		}
		slices.SortFunc(attrs, func(x, y *hcl.Attribute) int { return strings.Compare(x.Name, y.Name) })
	} else {
		comment(out, "This body cannot be shown.")
		return
	}
	for _, a := range attrs {
		if masked(prefix + a.Name) {
			out.SetAttributeValue(a.Name, cty.StringVal(Masked))
			continue
		}
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() || !v.IsWhollyKnown() {
			comment(out, a.Name+": cannot be evaluated.")
			continue
		}
		v, _ = v.UnmarkDeep()
		out.SetAttributeValue(a.Name, redactURL(v))
	}
	for _, blk := range blocks {
		out.AppendNewline()
		nb := out.AppendNewBlock(blk.Type, blk.Labels).Body()
		writeBody(nb, blk.Body, ctx, prefix+blk.Type+".", masked)
	}
}

// redactURL masks the password of a URL such as postgres://u:pw@host/db,
// whatever the attribute is called.
func redactURL(v cty.Value) cty.Value {
	if v.IsNull() || v.Type() != cty.String {
		return v
	}
	u, err := url.Parse(v.AsString())
	if err != nil || u.User == nil {
		return v
	}
	if _, ok := u.User.Password(); !ok {
		return v
	}
	return cty.StringVal(u.Redacted()) // the password reads "xxxxx"
}

func comment(b *hclwrite.Body, text string) {
	b.AppendUnstructuredTokens(hclwrite.Tokens{{
		Type:  hclsyntax.TokenComment,
		Bytes: []byte("# " + text + "\n"),
	}})
}

func optUint(n uint32) cty.Value {
	if n == 0 {
		return cty.NullVal(cty.Number)
	}
	return cty.NumberUIntVal(uint64(n))
}

func optString(s string) cty.Value {
	if s == "" {
		return cty.NullVal(cty.String)
	}
	return cty.StringVal(s)
}
