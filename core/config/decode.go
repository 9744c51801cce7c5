package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// The raw shape of the file. Attributes are kept as expressions and
// evaluated one by one, so that a value that fails to evaluate is reported
// once and not again as "empty" or "out of range".
type rawFile struct {
	CollectorID hcl.Expression `hcl:"collector_id,optional"`
	Interval    hcl.Expression `hcl:"interval,optional"`
	MaxKeys     hcl.Expression `hcl:"max_keys,optional"`
	PluginDir   hcl.Expression `hcl:"plugin_dir,optional"`
	StateDir    hcl.Expression `hcl:"state_dir,optional"`
	Log         *rawLog        `hcl:"log,block"`
	Listen      []rawListen    `hcl:"listen,block"`
	Control     *rawControl    `hcl:"control,block"`
	Metrics     *rawMetrics    `hcl:"metrics,block"`
	Exporters   []rawExporter  `hcl:"exporter,block"`
	Enrich      []rawEnrich    `hcl:"enrich,block"`
	Sinks       []rawSink      `hcl:"sink,block"`
}

type rawLog struct {
	Level  hcl.Expression `hcl:"level,optional"`
	Format hcl.Expression `hcl:"format,optional"`
}

type rawListen struct {
	Protocol      string         `hcl:"protocol,label"`
	ProtocolRange hcl.Range      `hcl:"protocol,label_range"`
	Address       hcl.Expression `hcl:"address"`
	Workers       hcl.Expression `hcl:"workers,optional"`
	ReceiveBuffer hcl.Expression `hcl:"receive_buffer,optional"`
	Spread        hcl.Expression `hcl:"spread,optional"`
	DefRange      hcl.Range      `hcl:",def_range"`
}

type rawControl struct {
	Socket hcl.Expression `hcl:"socket,optional"`
}

type rawMetrics struct {
	Address hcl.Expression `hcl:"address"`
}

type rawExporter struct {
	Name              string         `hcl:"name,label"`
	NameRange         hcl.Range      `hcl:"name,label_range"`
	Address           hcl.Expression `hcl:"address"`
	SamplingRate      hcl.Expression `hcl:"sampling_rate,optional"`
	ForceSamplingRate hcl.Expression `hcl:"force_sampling_rate,optional"`
	LocalASN          hcl.Expression `hcl:"local_asn,optional"`
	Records           hcl.Expression `hcl:"records,optional"`
	Interfaces        []rawInterface `hcl:"interface,block"`
	DefRange          hcl.Range      `hcl:",def_range"`
}

type rawInterface struct {
	Name              string         `hcl:"name,label"`
	NameRange         hcl.Range      `hcl:"name,label_range"`
	IfIndex           hcl.Expression `hcl:"ifindex"`
	Role              hcl.Expression `hcl:"role"`
	PeerASN           hcl.Expression `hcl:"peer_asn,optional"`
	Description       hcl.Expression `hcl:"description,optional"`
	Speed             hcl.Expression `hcl:"speed,optional"`
	SamplingRate      hcl.Expression `hcl:"sampling_rate,optional"`
	ForceSamplingRate hcl.Expression `hcl:"force_sampling_rate,optional"`
	DefRange          hcl.Range      `hcl:",def_range"`
}

type rawEnrich struct {
	Name      string           `hcl:"name,label"`
	NameRange hcl.Range        `hcl:"name,label_range"`
	Plugin    hcl.Expression   `hcl:"plugin"`
	Config    *rawPluginConfig `hcl:"config,block"`
	DefRange  hcl.Range        `hcl:",def_range"`
}

type rawSink struct {
	Name      string           `hcl:"name,label"`
	NameRange hcl.Range        `hcl:"name,label_range"`
	Plugin    hcl.Expression   `hcl:"plugin"`
	Queue     *rawQueue        `hcl:"queue,block"`
	Config    *rawPluginConfig `hcl:"config,block"`
	DefRange  hcl.Range        `hcl:",def_range"`
}

// rawPluginConfig keeps the body whole: the plugin's schema decides what
// belongs in it (core/pluginhost).
type rawPluginConfig struct {
	Body hcl.Body `hcl:",remain"`
}

type rawQueue struct {
	MaxSize hcl.Expression `hcl:"max_size,optional"`
	OnFull  hcl.Expression `hcl:"on_full,optional"`
}

// decoder evaluates and checks the raw file, collecting every diagnostic.
type decoder struct {
	baseDir          string
	ctx              *hcl.EvalContext
	diags            hcl.Diagnostics
	skipPluginConfig bool
}

func (d *decoder) errorf(subject hcl.Range, summary, format string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  subject.Ptr(),
	})
}

// warnf adds a warning, about subject unless it is the zero Range.
func (d *decoder) warnf(subject hcl.Range, summary, format string, args ...any) {
	diag := &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
	}
	if subject != (hcl.Range{}) {
		diag.Subject = subject.Ptr()
	}
	d.diags = append(d.diags, diag)
}

// duplicate reports a second definition at its own range and names the
// first; value is shown as given.
func (d *decoder) duplicate(what, value string, second, first hcl.Range) {
	d.errorf(second, "Duplicate "+what,
		"The %s %s was first defined at %s:%d.", what, value, first.Filename, first.Start.Line)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// value evaluates expr and converts it to ty. ok is false when the attribute
// is absent (null) or wrong; in the latter case a diagnostic says why.
func (d *decoder) value(expr hcl.Expression, name string, ty cty.Type) (cty.Value, bool) {
	v, diags := expr.Value(d.ctx)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() || v.IsNull() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		d.errorf(expr.Range(), "Invalid "+name, "The value of %s must be known when the configuration is read.", name)
		return cty.NilVal, false
	}
	v, err := convert.Convert(v, ty)
	if err != nil {
		d.errorf(expr.Range(), "Incorrect attribute value type",
			"Inappropriate value for attribute %q: %s.", name, err)
		return cty.NilVal, false
	}
	if v.IsNull() {
		return cty.NilVal, false
	}
	return v, true
}

func (d *decoder) str(expr hcl.Expression, name string) (string, bool) {
	v, ok := d.value(expr, name, cty.String)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

// integer reads a whole number in [lo, hi].
func (d *decoder) integer(expr hcl.Expression, name string, lo, hi int64) (int64, bool) {
	v, ok := d.value(expr, name, cty.Number)
	if !ok {
		return 0, false
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || i < lo || i > hi {
		text := bf.Text('f', -1)
		if len(text) > 24 { // 1e99999 has as many digits
			text = bf.Text('g', 10)
		}
		d.errorf(expr.Range(), "Invalid "+name,
			"%s must be a whole number from %d to %d, not %s.", name, lo, hi, text)
		return 0, false
	}
	return i, true
}

// oneOf reads a string that must be one of allowed.
func (d *decoder) oneOf(expr hcl.Expression, name string, allowed []string) (string, bool) {
	s, ok := d.str(expr, name)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		d.errorf(expr.Range(), "Invalid "+name,
			"%s must be one of %s, not %q.", name, quoteList(allowed), s)
		return "", false
	}
	return s, true
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// path reads a path; a relative one is relative to the config file's directory.
func (d *decoder) path(expr hcl.Expression, name string) (string, bool) {
	s, ok := d.str(expr, name)
	if !ok {
		return "", false
	}
	if s == "" {
		d.errorf(expr.Range(), "Invalid "+name, "%s must not be empty.", name)
		return "", false
	}
	return d.abs(s), true
}

func (d *decoder) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(d.baseDir, p)
}

// hostPort reads a host:port address for a socket. Port 0 (any free port)
// is allowed: tests use it.
func (d *decoder) hostPort(expr hcl.Expression, name string) (string, bool) {
	s, ok := d.str(expr, name)
	if !ok {
		return "", false
	}
	var why string
	host, port, err := net.SplitHostPort(s)
	switch {
	case err != nil:
		why = err.Error()
		if ae, ok := err.(*net.AddrError); ok {
			why = ae.Err
		}
	case !validPort(port):
		why = fmt.Sprintf("port %q is not a number from 0 to 65535", port)
	case strings.ContainsAny(host, " /"):
		why = fmt.Sprintf("host %q is not a host name or an IP address", host)
	default:
		return s, true
	}
	d.errorf(expr.Range(), "Invalid "+name,
		"%s must be host:port, such as \"0.0.0.0:2055\" or \"[::]:2055\"; %q is not: %s.", name, s, why)
	return "", false
}

func validPort(s string) bool {
	_, err := strconv.ParseUint(s, 10, 16)
	return err == nil
}

// addrKey normalises a listen address so that "[::ffff:127.0.0.1]:2055"
// and "127.0.0.1:2055" are seen as the same; port 0 never collides.
func addrKey(s string) (string, bool) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || port == "0" {
		return "", false
	}
	p, _ := strconv.ParseUint(port, 10, 16)
	if a, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(a.Unmap(), uint16(p)).String(), true
	}
	return net.JoinHostPort(strings.ToLower(host), strconv.FormatUint(p, 10)), true
}

// validName is what may name a plugin binary or a sink's queue directory.
func validName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func (d *decoder) config(raw *rawFile, body hcl.Body) *Config {
	cfg := &Config{}

	if id, ok := d.str(raw.CollectorID, "collector_id"); ok {
		switch {
		case id == "":
			d.errorf(raw.CollectorID.Range(), "Invalid collector_id", "collector_id must not be empty.")
		case strings.ContainsFunc(id, func(r rune) bool { return r == '/' || r <= ' ' || r == 0x7f }):
			d.errorf(raw.CollectorID.Range(), "Invalid collector_id",
				"collector_id %q must not contain \"/\", spaces or control characters: it is part of every batch id.", id)
		default:
			cfg.CollectorID = id
		}
	} else if isNull(raw.CollectorID) {
		h, err := hostname()
		if err != nil || h == "" {
			d.errorf(body.MissingItemRange(), "Missing collector_id",
				"collector_id is not set and the host name is unknown (%v); set collector_id.", err)
		}
		cfg.CollectorID = h
	}

	cfg.Interval = d.interval(raw.Interval)
	cfg.MaxKeys = DefaultMaxKeys
	if n, ok := d.integer(raw.MaxKeys, "max_keys", 1, 1<<31-1); ok {
		cfg.MaxKeys = int(n)
	}

	if p, ok := d.path(raw.PluginDir, "plugin_dir"); ok {
		cfg.PluginDir = p
	} else if isNull(raw.PluginDir) {
		exe, err := executable()
		if err != nil {
			d.errorf(body.MissingItemRange(), "Missing plugin_dir",
				"plugin_dir is not set and the directory of the lastfluss binary is unknown (%s); set plugin_dir.", err)
		} else {
			cfg.PluginDir = filepath.Join(filepath.Dir(exe), "plugins")
		}
	}

	if p, ok := d.path(raw.StateDir, "state_dir"); ok {
		cfg.StateDir = p
	} else if isNull(raw.StateDir) {
		cfg.StateDir = d.abs(DefaultStateDir)
	}

	cfg.Log = Log{Level: DefaultLogLevel, Format: DefaultLogFormat}
	if raw.Log != nil {
		if s, ok := d.oneOf(raw.Log.Level, "level", []string{"debug", "info", "warn", "error"}); ok {
			cfg.Log.Level = s
		}
		if s, ok := d.oneOf(raw.Log.Format, "format", []string{"text", "json"}); ok {
			cfg.Log.Format = s
		}
	}

	cfg.Listen = d.listeners(raw.Listen, body)

	cfg.Control.Socket = filepath.Join(cfg.StateDir, ControlSocketName)
	if raw.Control != nil {
		if p, ok := d.path(raw.Control.Socket, "socket"); ok {
			cfg.Control.Socket = p
		}
	}

	if raw.Metrics != nil {
		d.require(raw.Metrics.Address, "address")
		if a, ok := d.hostPort(raw.Metrics.Address, "address"); ok {
			cfg.Metrics.Address = a
		}
	}

	cfg.Exporters = d.exporters(raw.Exporters, body)

	enrich := make([]rawSink, len(raw.Enrich))
	for i, e := range raw.Enrich {
		enrich[i] = rawSink{Name: e.Name, NameRange: e.NameRange, Plugin: e.Plugin, Config: e.Config, DefRange: e.DefRange}
	}
	cfg.Enrich = d.plugins("enrich", enrich)
	cfg.Sinks = d.plugins("sink", raw.Sinks)
	return cfg
}

// require reports a missing required attribute: gohcl does not, for
// attributes decoded as expressions.
func (d *decoder) require(expr hcl.Expression, name string) {
	if isNull(expr) {
		d.errorf(expr.Range(), "Missing required argument",
			"The argument %q is required, but no definition was found.", name)
	}
}

// isNull tells an absent attribute (gohcl gives a static null) from one
// that failed to evaluate, which has been reported already.
func isNull(expr hcl.Expression) bool {
	v, diags := expr.Value(nil)
	return !diags.HasErrors() && v.IsNull()
}

func (d *decoder) interval(expr hcl.Expression) time.Duration {
	s, ok := d.str(expr, "interval")
	if !ok {
		if isNull(expr) {
			iv, _ := time.ParseDuration(DefaultInterval)
			return iv
		}
		return 0
	}
	iv, err := time.ParseDuration(s)
	switch {
	case err != nil:
		d.errorf(expr.Range(), "Invalid interval",
			"%q is not a duration: write a number and a unit, such as \"30s\", \"1m\" or \"5m\".", s)
	case iv < time.Second || iv > time.Hour:
		d.errorf(expr.Range(), "Invalid interval", "interval must be from 1s to 1h, not %s.", s)
	case time.Hour%iv != 0:
		d.errorf(expr.Range(), "Invalid interval",
			"interval must divide one hour exactly, so that intervals start at the same times every hour; %s does not (1h / %s = %.4g). Use for example 10s, 30s, 1m, 5m, 10m, 15m or 1h.",
			s, s, float64(time.Hour)/float64(iv))
	default:
		return iv
	}
	return 0
}

func (d *decoder) listeners(raws []rawListen, body hcl.Body) []Listen {
	if len(raws) == 0 {
		d.errorf(body.MissingItemRange(), "Missing listen block",
			"At least one listen block is required, such as:\n  listen \"netflow\" {\n    address = \"0.0.0.0:2055\"\n  }")
	}
	var out []Listen
	first := map[string]hcl.Range{}
	for _, r := range raws {
		l := Listen{
			Protocol:      r.Protocol,
			Workers:       numCPU(),
			ReceiveBuffer: DefaultReceiveBuffer,
			Spread:        SpreadExporter,
			Range:         r.DefRange,
		}
		if r.Protocol != ProtocolNetFlow && r.Protocol != ProtocolSFlow {
			d.errorf(r.ProtocolRange, "Unknown listen protocol",
				"The protocol must be %q (NetFlow v5, v9 and IPFIX on one socket) or %q, not %q.",
				ProtocolNetFlow, ProtocolSFlow, r.Protocol)
		}
		d.require(r.Address, "address")
		if a, ok := d.hostPort(r.Address, "address"); ok {
			l.Address = a
			if key, ok := addrKey(a); ok {
				if f, dup := first[key]; dup {
					d.duplicate("listen address", strconv.Quote(a), r.Address.Range(), f)
				} else {
					first[key] = r.Address.Range()
				}
			}
		}
		if n, ok := d.integer(r.Workers, "workers", 1, 4096); ok {
			l.Workers = int(n)
		}
		if s, ok := d.str(r.ReceiveBuffer, "receive_buffer"); ok {
			n, err := ParseSize(s, math.MaxInt32)
			if err != nil {
				d.errorf(r.ReceiveBuffer.Range(), "Invalid receive_buffer", "%s. Write bytes or a size such as \"32MiB\".", capitalize(err.Error()))
			} else {
				l.ReceiveBuffer = int(n)
			}
		}
		if v, ok := d.oneOf(r.Spread, "spread", []string{SpreadExporter, SpreadRandom}); ok {
			l.Spread = v
		}
		out = append(out, l)
	}
	return out
}

// Numbers bounded by what the records carry.
const maxUint32 = math.MaxUint32

func (d *decoder) exporters(raws []rawExporter, body hcl.Body) []Exporter {
	if len(raws) == 0 {
		d.warnf(hcl.Range{}, "No exporter",
			"No exporter block: every packet will be dropped as coming from an unknown address.")
	}
	var out []Exporter
	names := map[string]hcl.Range{}
	addrs := map[netip.Addr]hcl.Range{}
	for _, r := range raws {
		e := Exporter{Name: r.Name, Records: RecordsIngress, Range: r.DefRange}
		if r.Name == "" {
			d.errorf(r.NameRange, "Invalid exporter name", "The name of an exporter must not be empty.")
		} else if f, dup := names[r.Name]; dup {
			d.duplicate("exporter", strconv.Quote(r.Name), r.NameRange, f)
		} else {
			names[r.Name] = r.NameRange
		}
		d.require(r.Address, "address")
		if s, ok := d.str(r.Address, "address"); ok {
			a, err := netip.ParseAddr(s)
			switch {
			case err != nil:
				d.errorf(r.Address.Range(), "Invalid exporter address",
					"%q is not an IP address; the address is the exporter's source address (NetFlow, IPFIX) or agent address (sFlow), such as \"192.0.2.1\" or \"2001:db8::1\".", s)
			case a.Zone() != "":
				d.errorf(r.Address.Range(), "Invalid exporter address", "%q must not have a zone.", s)
			default:
				e.Address = a.Unmap()
				if f, dup := addrs[e.Address]; dup {
					d.duplicate("exporter address", e.Address.String(), r.Address.Range(), f)
				} else {
					addrs[e.Address] = r.Address.Range()
				}
			}
		}
		if n, ok := d.integer(r.SamplingRate, "sampling_rate", 1, maxUint32); ok {
			e.SamplingRate = uint32(n)
		}
		if n, ok := d.integer(r.ForceSamplingRate, "force_sampling_rate", 1, maxUint32); ok {
			e.ForceSamplingRate = uint32(n)
		}
		if n, ok := d.integer(r.LocalASN, "local_asn", 1, maxUint32); ok {
			e.LocalASN = uint32(n)
		}
		if s, ok := d.oneOf(r.Records, "records", []string{RecordsIngress, RecordsBoth}); ok {
			e.Records = s
		}
		if len(r.Interfaces) == 0 {
			d.warnf(r.NameRange, "Exporter without interfaces",
				"Exporter %q declares no interface: all its traffic will be unclassified.", r.Name)
		}
		e.Interfaces = d.interfaces(r.Interfaces)
		out = append(out, e)
	}
	return out
}

func (d *decoder) interfaces(raws []rawInterface) []Interface {
	var out []Interface
	names := map[string]hcl.Range{}
	indexes := map[int64]hcl.Range{}
	for _, r := range raws {
		i := Interface{Name: r.Name, Range: r.DefRange}
		if r.Name == "" {
			d.errorf(r.NameRange, "Invalid interface name", "The name of an interface must not be empty.")
		} else if f, dup := names[r.Name]; dup {
			d.duplicate("interface", strconv.Quote(r.Name), r.NameRange, f)
		} else {
			names[r.Name] = r.NameRange
		}
		d.require(r.IfIndex, "ifindex")
		d.require(r.Role, "role")
		if n, ok := d.integer(r.IfIndex, "ifindex", 1, maxUint32); ok {
			i.IfIndex = uint32(n)
			if f, dup := indexes[n]; dup {
				d.duplicate("ifindex", strconv.FormatInt(n, 10), r.IfIndex.Range(), f)
			} else {
				indexes[n] = r.IfIndex.Range()
			}
		}
		if s, ok := d.str(r.Role, "role"); ok {
			if slices.Contains(Roles, s) {
				i.Role = s
			} else {
				d.errorf(r.Role.Range(), "Unknown role", "role must be one of %s, not %q.", quoteList(Roles), s)
			}
		}
		if n, ok := d.integer(r.PeerASN, "peer_asn", 1, maxUint32); ok {
			i.PeerASN = uint32(n)
		}
		if s, ok := d.str(r.Description, "description"); ok {
			i.Description = s
		}
		if s, ok := d.str(r.Speed, "speed"); ok {
			n, err := ParseSpeed(s)
			if err != nil {
				d.errorf(r.Speed.Range(), "Invalid speed", "%s. Write bit/s with an SI unit, such as \"100G\", \"400M\" or \"2.5G\".", capitalize(err.Error()))
			} else {
				i.Speed = n
			}
		}
		if n, ok := d.integer(r.SamplingRate, "sampling_rate", 1, maxUint32); ok {
			i.SamplingRate = uint32(n)
		}
		if n, ok := d.integer(r.ForceSamplingRate, "force_sampling_rate", 1, maxUint32); ok {
			i.ForceSamplingRate = uint32(n)
		}
		out = append(out, i)
	}
	return out
}

// plugins checks enrich or sink blocks (kind); enrich blocks have no queue.
func (d *decoder) plugins(kind string, raws []rawSink) []Plugin {
	var out []Plugin
	names := map[string]hcl.Range{}
	for _, r := range raws {
		p := Plugin{Kind: kind, Name: r.Name, Range: r.DefRange, BaseDir: d.baseDir, Config: hcl.EmptyBody()}
		if !validName(r.Name) {
			d.errorf(r.NameRange, "Invalid "+kind+" name",
				"The name of %s block may hold only letters, digits, \".\", \"-\" and \"_\", not %q: it names files and metrics.",
				map[string]string{"enrich": "an enrich", "sink": "a sink"}[kind], r.Name)
		} else if f, dup := names[r.Name]; dup {
			d.duplicate(kind+" block", strconv.Quote(r.Name), r.NameRange, f)
		} else {
			names[r.Name] = r.NameRange
		}
		d.require(r.Plugin, "plugin")
		if s, ok := d.str(r.Plugin, "plugin"); ok {
			if validName(s) {
				p.Plugin = s
			} else {
				d.errorf(r.Plugin.Range(), "Invalid plugin",
					"plugin names the binary lastfluss-<plugin> in plugin_dir and may hold only letters, digits, \".\", \"-\" and \"_\", not %q.", s)
			}
		}
		if r.Config != nil {
			p.Config = r.Config.Body
			if !d.skipPluginConfig {
				d.checkBody(r.Config.Body)
			}
		}
		if kind == "sink" {
			p.QueueMaxSize = DefaultQueueMaxSize
			p.QueueOnFull = QueueOnFullPause
			if q := r.Queue; q != nil {
				if s, ok := d.str(q.MaxSize, "max_size"); ok {
					n, err := ParseSize(s, math.MaxInt64)
					if err != nil {
						d.errorf(q.MaxSize.Range(), "Invalid max_size", "%s. Write bytes or a size such as \"1GiB\".", capitalize(err.Error()))
					} else {
						p.QueueMaxSize = n
					}
				}
				if s, ok := d.oneOf(q.OnFull, "on_full", []string{QueueOnFullPause, QueueOnFullDropOldest}); ok {
					p.QueueOnFull = s
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// checkBody evaluates every attribute of a plugin's config body, so that an
// unset env() or a missing file() is reported now; which attributes are
// allowed is the plugin's schema's business, checked by the plugin host.
func (d *decoder) checkBody(body hcl.Body) {
	b, ok := body.(*hclsyntax.Body)
	if !ok {
		return
	}
	for _, a := range sortedAttrs(b) {
		_, diags := a.Expr.Value(d.ctx)
		d.diags = append(d.diags, diags...)
	}
	for _, blk := range b.Blocks {
		d.checkBody(blk.Body)
	}
}

// sortedAttrs returns a body's attributes in source order.
func sortedAttrs(b *hclsyntax.Body) []*hclsyntax.Attribute {
	attrs := make([]*hclsyntax.Attribute, 0, len(b.Attributes))
	for _, a := range b.Attributes {
		attrs = append(attrs, a)
	}
	slices.SortFunc(attrs, func(x, y *hclsyntax.Attribute) int {
		return x.SrcRange.Start.Byte - y.SrcRange.Start.Byte
	})
	return attrs
}
