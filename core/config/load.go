// Package config reads Lastfluss's HCL configuration into Config: defaults
// applied, paths absolute, every mistake reported at once as hcl.Diagnostics
// with the file, line and column it was made at.
package config

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Defaults that do not depend on the machine.
const (
	DefaultInterval      = "1m"
	DefaultMaxKeys       = 1_000_000
	DefaultStateDir      = "var"
	DefaultReceiveBuffer = 32 << 20
	DefaultQueueMaxSize  = 1 << 30
	DefaultLogLevel      = "info"
	DefaultLogFormat     = "text"
	ControlSocketName    = "lastfluss.sock"
)

// What a sink's queue does when it reaches max_size.
const (
	QueueOnFullPause      = "pause"       // take no new batch for this sink until there is room (counted, logged)
	QueueOnFullDropOldest = "drop_oldest" // drop the oldest batch to make room
)

// Listen protocols.
const (
	ProtocolNetFlow = "netflow"
	ProtocolSFlow   = "sflow"
)

// Defaults that depend on the machine; variables so that tests are stable.
var (
	hostname   = os.Hostname
	numCPU     = runtime.NumCPU
	executable = func() (string, error) {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		// bin/lastfluss may be reached through a symlink; the plugins
		// are beside the real binary.
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		return exe, nil
	}
)

// Loader parses configuration files and keeps their source, so that
// diagnostics can be rendered with the offending line.
type Loader struct {
	parser *hclparse.Parser

	// SkipPluginConfig leaves the plugins' config blocks unevaluated, for
	// commands that only read the core's settings (status, tui): the
	// env() a sink's password comes from is not set in an operator's
	// shell.
	SkipPluginConfig bool
}

// NewLoader returns a Loader with no files yet.
func NewLoader() *Loader {
	return &Loader{parser: hclparse.NewParser()}
}

// Files returns the sources read so far, by the filename diagnostics use.
func (l *Loader) Files() map[string]*hcl.File {
	return l.parser.Files()
}

// Load reads the configuration file at path. Diagnostics name the file as
// path was given; Config.File is absolute. The Config is nil if and only if
// the diagnostics contain an error.
func (l *Loader) Load(path string) (*Config, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read the configuration file",
			Detail:   err.Error(),
		}}
	}
	return l.Parse(src, path)
}

// Parse reads a configuration from src as if it were the file filename:
// relative paths and file() resolve against filename's directory.
// The Config is nil if and only if the diagnostics contain an error.
func (l *Loader) Parse(src []byte, filename string) (*Config, hcl.Diagnostics) {
	abs, err := filepath.Abs(filename)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot resolve the configuration file's path",
			Detail:   err.Error(),
		}}
	}
	f, diags := l.parser.ParseHCL(src, filename)
	if diags.HasErrors() {
		// The syntax is broken: what follows would only add noise.
		return nil, SortDiags(diags)
	}
	d := &decoder{
		baseDir:          filepath.Dir(abs),
		ctx:              EvalContext(filepath.Dir(abs)),
		diags:            diags,
		skipPluginConfig: l.SkipPluginConfig,
	}
	var raw rawFile
	d.diags = append(d.diags, gohcl.DecodeBody(f.Body, d.ctx, &raw)...)
	cfg := d.config(&raw, f.Body)
	cfg.File = abs
	diags = SortDiags(d.diags)
	if diags.HasErrors() {
		return nil, diags
	}
	return cfg, diags
}

// Load reads the configuration file at path with a new Loader. Render its
// diagnostics with WriteDiagnostics(w, nil, diags), which reads the source
// back from disk.
func Load(path string) (*Config, hcl.Diagnostics) {
	return NewLoader().Load(path)
}

// Parse reads a configuration from src as if it were the file filename.
// Use a Loader to render diagnostics with the source of src.
func Parse(src []byte, filename string) (*Config, hcl.Diagnostics) {
	return NewLoader().Parse(src, filename)
}

// SortDiags orders diagnostics as they appear in the files: hcl collects
// some of them by walking maps.
func SortDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	slices.SortStableFunc(diags, func(a, b *hcl.Diagnostic) int {
		switch {
		case a.Subject == nil && b.Subject == nil:
			return 0
		case a.Subject == nil:
			return -1
		case b.Subject == nil:
			return 1
		case a.Subject.Filename != b.Subject.Filename:
			if a.Subject.Filename < b.Subject.Filename {
				return -1
			}
			return 1
		default:
			return a.Subject.Start.Byte - b.Subject.Start.Byte
		}
	})
	return diags
}
