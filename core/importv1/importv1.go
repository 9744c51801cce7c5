// Package importv1 turns the first Lastfluss's configuration (settings.yaml
// and interfaces.yaml) into an equivalent lastfluss.hcl, so that its users
// switch by running `lastfluss import-v1` and reading the result.
package importv1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"
)

// PasswordEnv is the environment variable the generated sink block reads
// the database password from: the password stays out of the HCL file.
const PasswordEnv = "LASTFLUSS_DB_PASSWORD"

// Settings is the first Lastfluss's settings.yaml.
type Settings struct {
	Aggregation Aggregation `yaml:"aggregation"`
	Database    Database    `yaml:"database"`
	Netflow     Netflow     `yaml:"netflow"`
	Logging     Logging     `yaml:"logging"`
}

// Aggregation is settings.yaml's aggregation section.
type Aggregation struct {
	Period int `yaml:"period"` // seconds per row
}

// Database is settings.yaml's database section.
type Database struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	Name string `yaml:"name"`
	User string `yaml:"user"`
	Pass string `yaml:"pass"`
}

// Netflow is settings.yaml's netflow section.
type Netflow struct {
	Address string `yaml:"address"`
	Threads int    `yaml:"threads"`
}

// Logging is settings.yaml's logging section.
type Logging struct {
	File  string `yaml:"file"`
	Level int    `yaml:"level"`
}

// Interface is one entry of the first Lastfluss's interfaces.yaml.
type Interface struct {
	Name   string `yaml:"name"`
	Host   string `yaml:"host"`   // the exporting router
	ID     int64  `yaml:"id"`     // ifIndex
	Sample int64  `yaml:"sample"` // sampling rate
}

// Options change how hosts are resolved.
type Options struct {
	// Lookup resolves a host that is not an IP address; nil uses the
	// system's resolver. An exporter is matched by address, so a host
	// name must resolve to exactly one.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Convert reads settings.yaml and interfaces.yaml and returns the
// equivalent lastfluss.hcl, with comments where a choice was made.
func Convert(ctx context.Context, settingsYAML, interfacesYAML []byte, opts Options) ([]byte, error) {
	var s Settings
	if err := strictUnmarshal(settingsYAML, &s); err != nil {
		return nil, fmt.Errorf("read settings.yaml: %w", err)
	}
	var ifaces []Interface
	if err := strictUnmarshal(interfacesYAML, &ifaces); err != nil {
		return nil, fmt.Errorf("read interfaces.yaml: %w", err)
	}
	if opts.Lookup == nil {
		opts.Lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	var w writer
	w.line("# Converted by `lastfluss import-v1` from the first Lastfluss's settings.yaml")
	w.line("# and interfaces.yaml. Check it with `lastfluss check -config FILE`.")
	w.line("# collector_id defaults to this machine's host name; plugin_dir to the plugins")
	w.line("# beside the lastfluss binary; state_dir (queues, templates) to ./var.")
	w.line("")
	if err := w.interval(s.Aggregation.Period); err != nil {
		return nil, err
	}
	if s.Logging.File != "" {
		w.line("# logging.file %s is not used: Lastfluss logs to stderr (the journal under systemd).", quote(s.Logging.File))
	}
	if s.Database.Name == "" {
		return nil, errors.New("settings.yaml: database.name is not set")
	}
	w.line("")
	w.listen(s.Netflow.Address, s.Netflow.Threads)
	if err := w.exporters(ctx, ifaces, opts.Lookup); err != nil {
		return nil, err
	}
	w.sink(s)
	return hclwrite.Format(w.buf.Bytes()), nil
}

// strictUnmarshal refuses unknown keys: a misspelt key in the old file
// would otherwise be dropped without a word.
func strictUnmarshal(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the file is empty")
		}
		return err
	}
	return nil
}

type writer struct {
	buf    bytes.Buffer
	period time.Duration // the old aggregation.period
}

func (w *writer) line(format string, args ...any) {
	fmt.Fprintf(&w.buf, format, args...)
	w.buf.WriteByte('\n')
}

// quote is s as an HCL string literal: quotes, backslashes, newlines and
// template sequences (${, %{) escaped.
func quote(s string) string {
	return strings.TrimSpace(string(hclwrite.TokensForValue(cty.StringVal(s)).Bytes()))
}

// interval writes interval = aggregation.period. Lastfluss's interval
// divides one hour; another period becomes the largest one that does,
// with a comment.
func (w *writer) interval(period int) error {
	if period <= 0 {
		return fmt.Errorf("settings.yaml: aggregation.period is %d; want the seconds per row, such as 60", period)
	}
	w.period = time.Duration(period) * time.Second
	iv := w.period
	if iv > time.Hour {
		iv = time.Hour
	}
	for time.Hour%iv != 0 {
		iv -= time.Second
	}
	if iv == w.period {
		w.line("interval = %s # aggregation.period: %d seconds", quote(shortDuration(iv)), period)
		return nil
	}
	w.line("# aggregation.period was %d seconds; Lastfluss's interval must divide one hour,", period)
	w.line("# so it is the largest that does. Rows are stamped with their interval's start.")
	w.line("interval = %s", quote(shortDuration(iv)))
	return nil
}

// shortDuration writes d as "1m", "5m", "30s", "1h", "1m30s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (w *writer) listen(address string, threads int) {
	if address == "" {
		address = ":2055"
		w.line("# netflow.address was not set; the first Lastfluss listened on :2055 then.")
	}
	w.line("# The first Lastfluss decoded NetFlow v9 only; this socket takes v5, v9 and IPFIX.")
	w.line("# Add a listen \"sflow\" block for sFlow exporters.")
	w.line("listen \"netflow\" {")
	w.line("  address = %s # netflow.address", quote(address))
	if threads > 0 {
		w.line("  workers = %d # netflow.threads", threads)
	}
	w.line("}")
	w.line("")
}

// exporter is the interfaces of one host, in the order of the file.
type exporter struct {
	host   string
	addr   netip.Addr
	ifaces []int // indexes into the interfaces list
}

func (w *writer) exporters(ctx context.Context, ifaces []Interface, lookup func(context.Context, string) ([]netip.Addr, error)) error {
	if len(ifaces) == 0 {
		return errors.New("interfaces.yaml lists no interface")
	}
	var list []*exporter
	byHost := map[string]*exporter{}
	byAddr := map[netip.Addr]*exporter{}
	var errs []error
	for i, ifc := range ifaces {
		entry := fmt.Sprintf("interfaces.yaml entry %d (%s)", i+1, quote(ifc.Name))
		switch {
		case strings.TrimSpace(ifc.Name) == "":
			errs = append(errs, fmt.Errorf("interfaces.yaml entry %d: name is empty", i+1))
		case ifc.Host == "":
			errs = append(errs, fmt.Errorf("%s: host is empty", entry))
		case ifc.ID < 1 || ifc.ID > 1<<32-1:
			errs = append(errs, fmt.Errorf("%s: id %d is not an ifIndex (1 to 4294967295)", entry, ifc.ID))
		case ifc.Sample < 0 || ifc.Sample > 1<<32-1:
			errs = append(errs, fmt.Errorf("%s: sample %d is not a sampling rate", entry, ifc.Sample))
		}
		if ifc.Host == "" {
			continue
		}
		e := byHost[ifc.Host]
		if e == nil {
			addr, err := resolve(ctx, ifc.Host, lookup)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", entry, err))
				continue
			}
			// Two spellings of one address (::ffff:1.2.3.4, a host name)
			// are one exporter.
			if e = byAddr[addr]; e == nil {
				e = &exporter{host: ifc.Host, addr: addr}
				byAddr[addr] = e
				list = append(list, e)
			}
			byHost[ifc.Host] = e
		}
		for _, j := range e.ifaces {
			if ifaces[j].ID == ifc.ID {
				errs = append(errs, fmt.Errorf("%s: host %s ifIndex %d is also entry %d", entry, ifc.Host, ifc.ID, j+1))
			}
			if ifaces[j].Name == ifc.Name {
				errs = append(errs, fmt.Errorf("%s: host %s has two interfaces of this name (entry %d too); rename one", entry, ifc.Host, j+1))
			}
		}
		e.ifaces = append(e.ifaces, i)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, e := range list {
		name := exporterName(e)
		for n := 2; names[name]; n++ {
			name = exporterName(e) + "-" + strconv.Itoa(n)
		}
		names[name] = true
		w.line("exporter %s {", quote(name))
		if e.host != e.addr.String() {
			w.line("  address = %s # host %s", quote(e.addr.String()), quote(e.host))
		} else {
			w.line("  address = %s # host", quote(e.addr.String()))
		}
		for _, i := range e.ifaces {
			w.iface(ifaces[i])
		}
		w.line("}")
		w.line("")
	}
	return nil
}

func resolve(ctx context.Context, host string, lookup func(context.Context, string) ([]netip.Addr, error)) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, fmt.Errorf("host %s: an exporter address has no zone", host)
		}
		return a.Unmap(), nil
	}
	addrs, err := lookup(ctx, host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("host %s is not an IP address and does not resolve (%v); write the address the router exports from", host, err)
	}
	seen := map[netip.Addr]bool{}
	var uniq []string
	for _, a := range addrs {
		if a = a.Unmap(); !seen[a] {
			seen[a] = true
			uniq = append(uniq, a.String())
		}
	}
	if len(uniq) != 1 {
		return netip.Addr{}, fmt.Errorf("host %s resolves to %d addresses (%s); write the one the router exports from", host, len(uniq), strings.Join(uniq, ", "))
	}
	return netip.MustParseAddr(uniq[0]), nil
}

// exporterName is "router-1-2-3-4" for an address, the host name (cleaned)
// for a name.
func exporterName(e *exporter) string {
	if e.host != e.addr.String() && !strings.ContainsAny(e.host, ":") {
		if _, err := netip.ParseAddr(e.host); err != nil {
			return clean(e.host)
		}
	}
	return "router-" + strings.NewReplacer(".", "-", ":", "-").Replace(e.addr.String())
}

func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
}

// roleHints are looked for in an interface's name, in this order: users of
// the first Lastfluss put the role into the name (its dashboards coloured
// "IX" and "PNI" series).
var roleHints = []struct {
	role, hint string
	fold       bool // match in any case
}{
	{"pni", "PNI", false},
	{"ix", "IX", false},
	{"ix", "internet exchange", true},
	{"peering", "peering", true},
	{"transit", "transit", true},
}

// Role guesses an interface's role from its name and says why.
func Role(name string) (role, why string) {
	lower := strings.ToLower(name)
	for _, h := range roleHints {
		if h.fold && strings.Contains(lower, h.hint) || !h.fold && strings.Contains(name, h.hint) {
			return h.role, fmt.Sprintf("the name contains %s", quote(h.hint))
		}
	}
	return "other", "no role hint in the name (IX, PNI, internet exchange, peering, transit)"
}

func (w *writer) iface(ifc Interface) {
	w.line("")
	w.line("  interface %s {", quote(ifc.Name))
	w.line("    ifindex = %d # id", ifc.ID)
	role, why := Role(ifc.Name)
	w.line("    role = %s # %s", quote(role), why)
	if role == "other" {
		w.line("    # set transit, peering, ix, pni, customer or core where you know it")
	}
	if ifc.Sample > 0 {
		// The first Lastfluss multiplied by sample whatever the router
		// announced; Lastfluss prefers the announced rate.
		w.line("    sampling_rate = %d # sample; when the router announces a wrong rate, use force_sampling_rate", ifc.Sample)
	} else {
		w.line("    # no sample: the rate the router announces is used, else 1")
	}
	w.line("  }")
}

// sink writes a sink-postgres block for the old database, its password
// read from PasswordEnv. The DSN is libpq's key=value form, each value in
// single quotes, so that spaces survive; a password holding ' or \ must
// go into PGPASSWORD or ~/.pgpass instead.
func (w *writer) sink(s Settings) {
	db := s.Database
	var kv []string
	add := func(k, v string) {
		if v != "" {
			kv = append(kv, k+"="+dsnQuote(v))
		}
	}
	add("host", db.Host)
	if db.Port > 0 {
		add("port", strconv.Itoa(db.Port))
	}
	add("dbname", db.Name)
	add("user", db.User)
	dsn := quote(strings.Join(kv, " "))
	w.line("# The first Lastfluss's database: its traffic table is taken over in place")
	w.line("# (new columns added, every row kept; see plugins/sink-postgres/README.md).")
	w.line("sink \"db\" {")
	w.line("  plugin = \"sink-postgres\"")
	w.line("  config {")
	if db.Pass != "" {
		w.line("    # The password is no longer in a file: export %s before", PasswordEnv)
		w.line("    # starting (a password holding ' or \\ goes into ~/.pgpass instead).")
		dsn = strings.TrimSuffix(dsn, `"`) + ` password='${env("` + PasswordEnv + `")}'"`
	}
	w.line("    dsn = %s", dsn)
	w.line("    # aggregation.period: bytes of the old rows are bandwidth × period / 8")
	w.line("    legacy_interval = %s", quote(strconv.Itoa(int(w.period/time.Second))+"s"))
	w.line("  }")
	w.line("}")
}

// dsnQuote quotes a libpq key=value value.
func dsnQuote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
