// Package pluginhost runs the plugins of `sink` and `enrich` blocks: one
// process per block (hashicorp/go-plugin over gRPC), its Info and API
// version checked, its `config {}` block decoded against its schema, its log
// lines kept at their level, and a crashed plugin restarted with backoff.
package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/hcl/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/sdk"
)

// ConfigDirEnv tells a plugin the directory of the configuration file, so
// that relative paths in its config block mean what they mean to the core.
const ConfigDirEnv = "LASTFLUSS_CONFIG_DIR"

// Configuration of the plugin host.
type Configuration struct {
	PluginDir  string     // where lastfluss-<plugin> binaries are
	LogLevel   slog.Level // the level plugins are asked to log at
	RestartMin time.Duration
	RestartMax time.Duration // the wait between restarts doubles up to this
}

// DefaultConfiguration is the configuration without a config file's say.
func DefaultConfiguration() Configuration {
	return Configuration{LogLevel: slog.LevelInfo, RestartMin: 100 * time.Millisecond, RestartMax: 30 * time.Second}
}

// Host starts and owns plugin processes.
type Host struct {
	log      *slog.Logger
	cfg      Configuration
	restarts *prometheus.CounterVec

	mu      sync.Mutex
	handles map[*Handle]struct{}
	schemas map[string]sdk.Schema // by plugin binary name, for Sensitive
}

// New returns a host. reg may be nil: metrics are then kept but not
// exported.
func New(log *slog.Logger, cfg Configuration, reg prometheus.Registerer) (*Host, error) {
	restarts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lastfluss_plugin_restarts_total",
		Help: "Plugin processes restarted after they exited.",
	}, []string{"plugin"})
	if reg != nil {
		if err := reg.Register(restarts); err != nil {
			are := prometheus.AlreadyRegisteredError{}
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("register plugin metrics: %w", err)
			}
			restarts = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return &Host{
		log:      log,
		cfg:      cfg,
		restarts: restarts,
		handles:  map[*Handle]struct{}{},
		schemas:  map[string]sdk.Schema{},
	}, nil
}

// wantKind is the plugin kind a block kind needs.
var wantKind = map[string]sdk.Kind{"sink": sdk.KindSink, "enrich": sdk.KindEnricher}

// Start starts the plugin of block p, checks it, decodes and sends its
// configuration. Every problem is a diagnostic pointing into the config.
func (h *Host) Start(ctx context.Context, p config.Plugin) (*Handle, hcl.Diagnostics) {
	hd := &Handle{host: h, block: p, log: h.log.With("plugin", p.Name, "kind", p.Kind)}
	schema, diags := hd.startChecked(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	cfg, diags := decodeConfig(p, schema)
	if diags.HasErrors() {
		hd.kill()
		return nil, diags
	}
	hd.cfg = cfg
	if err := hd.current().Configure(ctx, cfg); err != nil {
		hd.kill()
		return nil, blockError(p, "Plugin refused its configuration", err.Error())
	}
	h.restarts.WithLabelValues(p.Name).Add(0)
	h.mu.Lock()
	h.handles[hd] = struct{}{}
	h.mu.Unlock()
	hd.log.Info("plugin started", "binary", hd.path)
	return hd, nil
}

// Checked is a plugin block as `lastfluss check` shows it.
type Checked struct {
	Block  config.Plugin
	Path   string // the plugin binary
	Info   sdk.Info
	Schema sdk.Schema
	Config sdk.Config // decoded, defaults applied
}

// Masked is the decoded configuration with sensitive values hidden.
func (c Checked) Masked() sdk.Config { return Masked(c.Schema, c.Config) }

// Check starts each block's plugin, checks it and decodes its config block,
// and stops it again. Enrichers are also configured: they only look things
// up, so configuring one acts on nothing outside it, and a names file it
// cannot read shows now instead of at run. Sinks are not: configuring one
// may migrate its database.
func (h *Host) Check(ctx context.Context, plugins []config.Plugin) ([]Checked, hcl.Diagnostics) {
	var all hcl.Diagnostics
	var out []Checked
	for _, p := range plugins {
		hd := &Handle{host: h, block: p, log: h.log.With("plugin", p.Name, "kind", p.Kind)}
		schema, diags := hd.startChecked(ctx)
		all = append(all, diags...)
		if diags.HasErrors() {
			continue
		}
		cfg, diags := decodeConfig(p, schema)
		if !diags.HasErrors() && wantKind[p.Kind] == sdk.KindEnricher {
			if err := hd.current().Configure(ctx, cfg); err != nil {
				diags = append(diags, blockError(p, "Plugin refused its configuration", err.Error())...)
			}
		}
		hd.kill()
		all = append(all, diags...)
		if !diags.HasErrors() {
			out = append(out, Checked{Block: p, Path: hd.path, Info: hd.info, Schema: schema, Config: cfg})
		}
	}
	return out, all
}

// Sensitive tells whether attr of p's config is sensitive; it knows the
// schemas of the plugins this host has started or checked, and treats an
// attribute of an unknown schema as sensitive.
func (h *Host) Sensitive(p config.Plugin, attr string) bool {
	h.mu.Lock()
	s, ok := h.schemas[p.Plugin]
	h.mu.Unlock()
	if !ok {
		return true
	}
	for _, a := range s.Attributes {
		if a.Name == attr {
			return a.Sensitive
		}
	}
	return true
}

// Close kills every plugin this host started.
func (h *Host) Close() {
	h.mu.Lock()
	handles := h.handles
	h.handles = map[*Handle]struct{}{}
	h.mu.Unlock()
	for hd := range handles {
		hd.close()
	}
}

// startChecked starts the block's plugin, checks what it is and fetches its
// schema.
func (hd *Handle) startChecked(ctx context.Context) (sdk.Schema, hcl.Diagnostics) {
	p := hd.block
	if p.Plugin == "" || strings.ContainsAny(p.Plugin, `/\`) || strings.HasPrefix(p.Plugin, ".") {
		return sdk.Schema{}, blockError(p, "Invalid plugin name",
			fmt.Sprintf("plugin = %q: write the name after lastfluss- of a binary in plugin_dir, such as \"sink-postgres\".", p.Plugin))
	}
	hd.path = filepath.Join(hd.host.cfg.PluginDir, "lastfluss-"+p.Plugin)
	if abs, err := filepath.Abs(hd.path); err == nil {
		hd.path = abs
	}
	if fi, err := os.Stat(hd.path); err != nil || fi.IsDir() {
		return sdk.Schema{}, blockError(p, "Plugin not found",
			fmt.Sprintf("plugin %q has no executable %s. Build the plugins (make) or check plugin_dir.", p.Plugin, hd.path))
	}
	if err := hd.launch(ctx); err != nil {
		summary := "Plugin failed to start"
		if errors.As(err, new(incompatibleError)) {
			summary = "Incompatible plugin"
		}
		return sdk.Schema{}, blockError(p, summary, err.Error())
	}
	schema, err := hd.current().GetConfigSchema(ctx)
	if err != nil {
		hd.kill()
		return sdk.Schema{}, blockError(p, "Plugin failed to start", fmt.Sprintf("%s: %v", hd.path, err))
	}
	hd.host.mu.Lock()
	hd.host.schemas[p.Plugin] = schema
	hd.host.mu.Unlock()
	return schema, nil
}

// launch starts the process and checks its Info; it sets hd's client.
func (hd *Handle) launch(ctx context.Context) error {
	kind := wantKind[hd.block.Kind]
	cmd := exec.Command(hd.path)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// A Ctrl-C at the terminal must not reach the plugins: the core
		// stops them itself, after delivering the last batch.
		Setpgid: true,
		// And they must not outlive a core that was killed.
		Pdeathsig: syscall.SIGKILL,
	}
	// Plugins resolve relative paths of their config against the config
	// file's directory, as the core does.
	cmd.Env = append(os.Environ(),
		sdk.LogLevelEnv+"="+hd.host.cfg.LogLevel.String(),
		ConfigDirEnv+"="+hd.block.BaseDir)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginMap,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclogToSlog(hd.log, hd.host.cfg.LogLevel),
		SyncStdout:       &lineLogger{log: hd.log, stream: "stdout"},
		SyncStderr:       &lineLogger{log: hd.log, stream: "stderr"},
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		if v, ok := handshakeVersion(err); ok {
			return incompatibleError(fmt.Sprintf("%s speaks plugin API version %d, this lastfluss speaks version %d: rebuild the plugin against this lastfluss's sdk",
				hd.path, v, sdk.APIVersion))
		}
		return fmt.Errorf("%s: %w", hd.path, err)
	}
	raw, err := rpc.Dispense(string(kind))
	if err != nil {
		client.Kill()
		return fmt.Errorf("%s: %w", hd.path, err)
	}
	pc := pluginOf(raw)
	info, err := pc.GetInfo(ctx)
	if err != nil {
		client.Kill()
		return fmt.Errorf("%s: %w", hd.path, err)
	}
	switch {
	case info.APIVersion != sdk.APIVersion:
		client.Kill()
		return incompatibleError(fmt.Sprintf("%s speaks plugin API version %d, this lastfluss speaks version %d: rebuild the plugin against this lastfluss's sdk",
			hd.path, info.APIVersion, sdk.APIVersion))
	case info.Kind != kind:
		client.Kill()
		return incompatibleError(fmt.Sprintf("%s is a plugin of kind %q, %s %q needs kind %q", hd.path, info.Kind, hd.block.Kind, hd.block.Name, kind))
	}
	hd.mu.Lock()
	hd.client, hd.rpc, hd.raw, hd.info, hd.since = client, rpc, raw, info, time.Now()
	hd.mu.Unlock()
	return nil
}

// incompatibleError is a plugin of another API version or kind.
type incompatibleError string

func (e incompatibleError) Error() string { return string(e) }

// handshakeVersion reads the plugin's protocol version out of go-plugin's
// error for a handshake with another API version.
func handshakeVersion(err error) (int, bool) {
	const marker = "Plugin version: "
	msg := err.Error()
	if !strings.Contains(msg, "incompatible API version") {
		return 0, false
	}
	i := strings.Index(msg, marker)
	if i < 0 {
		return 0, false
	}
	var v int
	if _, err := fmt.Sscanf(msg[i+len(marker):], "%d", &v); err != nil {
		return 0, false
	}
	return v, true
}

func blockError(p config.Plugin, summary, detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf("%s %q: %s", p.Kind, p.Name, detail),
		Subject:  p.Range.Ptr(),
	}}
}
