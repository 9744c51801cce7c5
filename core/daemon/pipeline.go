package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/core/dispatch"
	"github.com/lastfluss/lastfluss/core/pluginhost"
)

// stopWait bounds how long a shutdown waits for the queues to drain; what
// is left stays queued on disk for the next start.
const stopWait = 10 * time.Second

// pipeline takes closed batches through the enrichers into every sink's
// durable queue, with the plugin processes behind them.
type pipeline struct {
	logger  *slog.Logger
	ctx     context.Context
	host    *pluginhost.Host
	disp    *dispatch.Dispatcher
	handles map[string]*running // by kind/name
}

// running is a started plugin block, kept across reloads while its block
// does not change.
type running struct {
	block  config.Plugin
	handle *pluginhost.Handle
	key    string // what the block says, to tell a changed block
}

func newPipeline(ctx context.Context, logger *slog.Logger, cfg *config.Config, reg prometheus.Registerer) (*pipeline, error) {
	hcfg := pluginhost.DefaultConfiguration()
	hcfg.PluginDir = cfg.PluginDir
	_ = hcfg.LogLevel.UnmarshalText([]byte(cfg.Log.Level))
	host, err := pluginhost.New(logger, hcfg, reg)
	if err != nil {
		return nil, err
	}
	p := &pipeline{logger: logger, ctx: ctx, host: host, handles: make(map[string]*running)}
	enrichers, sinks, err := p.start(cfg)
	if err != nil {
		host.Close()
		return nil, err
	}
	dcfg := dispatch.DefaultConfiguration()
	dcfg.StateDir = cfg.StateDir
	p.disp, err = dispatch.New(logger, dcfg, dispatch.Dependencies{Enrichers: enrichers, Sinks: sinks, Registerer: reg})
	if err != nil {
		host.Close()
		return nil, err
	}
	if err := p.disp.Start(ctx); err != nil {
		host.Close()
		return nil, err
	}
	return p, nil
}

// start starts the plugins of cfg that are not running yet (or whose
// block changed) and returns the dispatch stage's view of all of them.
func (p *pipeline) start(cfg *config.Config) ([]dispatch.NamedEnricher, []dispatch.NamedSink, error) {
	next := make(map[string]*running)
	var diags hcl.Diagnostics
	var enrichers []dispatch.NamedEnricher
	var sinks []dispatch.NamedSink
	blocks := append(append([]config.Plugin(nil), cfg.Enrich...), cfg.Sinks...)
	for _, b := range blocks {
		id := b.Kind + "/" + b.Name
		key := blockKey(b)
		r, ok := p.handles[id]
		if !ok || r.key != key {
			h, d := p.host.Start(p.ctx, b)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			r = &running{block: b, handle: h, key: key}
		}
		next[id] = r
		if b.Kind == "enrich" {
			enrichers = append(enrichers, dispatch.NamedEnricher{Name: b.Name, Enricher: r.handle})
			continue
		}
		sinks = append(sinks, dispatch.NamedSink{Name: b.Name, Sink: r.handle, Queue: dispatch.QueueConfiguration{
			MaxBytes: b.QueueMaxSize, OnFull: dispatch.OnFull(b.QueueOnFull),
		}})
	}
	if diags.HasErrors() {
		// Stop what this call started; the running set stays as it was.
		for id, r := range next {
			if old, ok := p.handles[id]; !ok || old != r {
				r.handle.Close()
			}
		}
		return nil, nil, errors.New("plugins: " + diagsText(diags))
	}
	for id, r := range p.handles {
		if next[id] != r {
			defer r.handle.Close() // after dispatch stopped using it
		}
	}
	p.handles = next
	return enrichers, sinks, nil
}

// blockKey is what identifies a block's settings: a change restarts its
// plugin. The config body is keyed by its evaluated attribute values.
func blockKey(b config.Plugin) string {
	key := fmt.Sprintf("%s|%d|%s", b.Plugin, b.QueueMaxSize, b.QueueOnFull)
	if b.Config == nil {
		return key
	}
	attrs, diags := b.Config.JustAttributes()
	if diags.HasErrors() {
		// Nested blocks: no cheap comparison, so treat it as changed.
		return key + "|" + time.Now().String()
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	slices.Sort(names)
	ctx := config.EvalContext(b.BaseDir)
	for _, n := range names {
		v, _ := attrs[n].Expr.Value(ctx)
		key += "|" + n + "=" + v.GoString()
	}
	return key
}

func diagsText(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		if d.Subject != nil {
			fmt.Fprintf(&b, "%s: ", d.Subject)
		}
		b.WriteString(d.Summary)
		if d.Detail != "" {
			b.WriteString(": " + d.Detail)
		}
	}
	return b.String()
}

// Submit hands a closed batch to dispatch; it only appends to a backlog.
func (p *pipeline) Submit(b *aggregate.Batch) { p.disp.Submit(b) }

// Reload swaps enrichers and sinks. A plugin that fails to start keeps the
// running set unchanged.
func (p *pipeline) Reload(cfg *config.Config) error {
	enrichers, sinks, err := p.start(cfg)
	if err != nil {
		return err
	}
	return p.disp.Reload(enrichers, sinks)
}

// Stop delivers what it can within stopWait, then ends the plugins.
func (p *pipeline) Stop() {
	if err := p.disp.Stop(stopWait); err != nil {
		p.logger.Warn("batches stay queued for the next start", "err", err)
	}
	p.host.Close()
}

// ASNames are the latest AS names the enrichers gave.
func (p *pipeline) ASNames() map[uint32]aggregate.ASInfo { return p.disp.ASNames() }
