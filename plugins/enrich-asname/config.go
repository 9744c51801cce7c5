package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lastfluss/lastfluss/sdk"
)

// ConfigDirEnv names the directory relative paths are resolved against. The
// core's config paths are relative to the config file's directory; until
// the plugin host passes it, a relative path is relative to the working
// directory.
const ConfigDirEnv = "LASTFLUSS_CONFIG_DIR"

var schema = sdk.Schema{Attributes: []sdk.Attribute{
	{Name: "file", Type: sdk.TypeString,
		Description: "A RIPE-style AS names file (RIPE NCC's asn.txt: \"<asn> <handle> [- ]<description>, <CC>\" a line)."},
	{Name: "files", Type: sdk.TypeList,
		Description: "More RIPE-style files, asked in order after file."},
	{Name: "peeringdb", Type: sdk.TypeList,
		Description: "PeeringDB JSON dumps of net objects ({\"data\": [...]} or {\"net\": {\"data\": [...]}}), asked after the RIPE-style files."},
	{Name: "dns", Type: sdk.TypeBool, Default: false,
		Description: "Ask Team Cymru's DNS (AS<n>.asn.cymru.com TXT) about ASNs the files do not know."},
	{Name: "dns_server", Type: sdk.TypeString,
		Description: "The DNS server to ask, \"host:port\"; the system's resolver when unset."},
	{Name: "dns_timeout", Type: sdk.TypeDuration, Default: "1s",
		Description: "The longest a batch waits for DNS answers; later answers serve later batches."},
	{Name: "dns_rate", Type: sdk.TypeNumber, Default: 10.0,
		Description: "DNS queries a second at most."},
	{Name: "dns_cache_ttl", Type: sdk.TypeDuration, Default: "24h",
		Description: "How long a DNS answer (or its absence) is kept."},
	{Name: "reload_interval", Type: sdk.TypeDuration, Default: "1m",
		Description: "How often the files are checked for changes (modification time and size); 0 never."},
}}

// settings is a decoded, checked config.
type settings struct {
	RIPE           []string // absolute paths, in order
	PeeringDB      []string
	DNS            bool
	DNSServer      string
	DNSTimeout     time.Duration
	DNSRate        float64
	DNSCacheTTL    time.Duration
	ReloadInterval time.Duration
}

// parseSettings checks cfg and resolves its paths. Defaults are applied
// here too, so that a config sent without them works.
func parseSettings(cfg sdk.Config) (settings, error) {
	s := settings{
		DNS: cfg.Bool("dns"), DNSServer: cfg.String("dns_server"),
		DNSTimeout: time.Second, DNSRate: 10, DNSCacheTTL: 24 * time.Hour, ReloadInterval: time.Minute,
	}
	if _, ok := cfg["dns_timeout"]; ok {
		s.DNSTimeout = cfg.Duration("dns_timeout")
	}
	if _, ok := cfg["dns_rate"]; ok {
		s.DNSRate = cfg.Number("dns_rate")
	}
	if _, ok := cfg["dns_cache_ttl"]; ok {
		s.DNSCacheTTL = cfg.Duration("dns_cache_ttl")
	}
	if _, ok := cfg["reload_interval"]; ok {
		s.ReloadInterval = cfg.Duration("reload_interval")
	}

	var errs []error
	ripe := cfg.List("files")
	if f := cfg.String("file"); f != "" {
		ripe = append([]string{f}, ripe...)
	}
	for _, p := range ripe {
		s.RIPE = append(s.RIPE, resolvePath(p))
	}
	for _, p := range cfg.List("peeringdb") {
		s.PeeringDB = append(s.PeeringDB, resolvePath(p))
	}
	if len(s.RIPE)+len(s.PeeringDB) == 0 && !s.DNS {
		errs = append(errs, errors.New("no source of AS names: set file, files, peeringdb or dns = true"))
	}
	if s.DNS {
		if s.DNSTimeout <= 0 {
			errs = append(errs, fmt.Errorf("dns_timeout = %s: want more than 0", s.DNSTimeout))
		}
		if s.DNSRate <= 0 {
			errs = append(errs, fmt.Errorf("dns_rate = %g: want more than 0", s.DNSRate))
		}
		if s.DNSCacheTTL <= 0 {
			errs = append(errs, fmt.Errorf("dns_cache_ttl = %s: want more than 0", s.DNSCacheTTL))
		}
	}
	if s.ReloadInterval < 0 {
		errs = append(errs, fmt.Errorf("reload_interval = %s: want 0 (never) or more", s.ReloadInterval))
	}
	return s, errors.Join(errs...)
}

// resolvePath makes p absolute: relative to $LASTFLUSS_CONFIG_DIR when set,
// else to the working directory.
func resolvePath(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	if dir := os.Getenv(ConfigDirEnv); dir != "" {
		return filepath.Join(dir, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
