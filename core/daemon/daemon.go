// Package daemon wires the stages into the running collector: it starts
// them in order, stops them in reverse, and reloads on SIGHUP.
package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/classify"
	"github.com/lastfluss/lastfluss/core/collector"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/core/control"
	"github.com/lastfluss/lastfluss/core/decode"
	"github.com/lastfluss/lastfluss/core/metrics"
)

// templatesFile holds templates and learned sampling rates across restarts.
const templatesFile = "templates.json"

// Version is reported on the control socket; main sets it.
var Version = "dev"

// saveEvery is how often templates are persisted while running.
const saveEvery = 30 * time.Second

// NewLogger returns the logger the configuration asks for.
func NewLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Run runs the collector with the configuration at path until ctx ends or
// SIGTERM/SIGINT arrives.
func Run(ctx context.Context, path string, stderr io.Writer) error {
	loader := config.NewLoader()
	cfg, diags := loader.Load(path)
	if diags.HasErrors() {
		_ = loader.WriteDiagnostics(stderr, diags)
		return fmt.Errorf("configuration %s has errors", path)
	}
	logger := NewLogger(stderr, cfg.Log)
	d, err := start(ctx, logger, cfg)
	if err != nil {
		return err
	}

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sig)
	for {
		select {
		case <-ctx.Done():
			return d.stop()
		case s := <-sig:
			if s == syscall.SIGHUP {
				d.reload(path)
				continue
			}
			logger.Info("stopping", "signal", s.String())
			return d.stop()
		}
	}
}

type daemon struct {
	logger    *slog.Logger
	cfg       *config.Config
	reg       *aggregate.Registry
	table     atomic.Pointer[classify.Table]
	templates *decode.Templates
	metrics   *metrics.Server
	merger    *aggregate.Merger
	collector *collector.Collector
	control   *control.Server
	pipeline  *pipeline
	cancel    context.CancelFunc
	saverDone chan struct{}
}

func start(ctx context.Context, logger *slog.Logger, cfg *config.Config) (*daemon, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("create state_dir: %w", err)
	}
	d := &daemon{logger: logger, cfg: cfg, reg: aggregate.NewRegistry(), saverDone: make(chan struct{})}
	var err error
	d.templates, err = decode.LoadTemplates(filepath.Join(cfg.StateDir, templatesFile))
	if err != nil {
		// Templates come back with the next template packets; not fatal.
		logger.Warn("cannot load saved templates; starting without", "err", err)
		d.templates = decode.NewTemplates()
	}
	if d.metrics, err = metrics.New(logger, cfg.Metrics.Address); err != nil {
		return nil, err
	}
	d.table.Store(classify.NewTable(cfg, d.reg, nil))

	if d.pipeline, err = newPipeline(ctx, logger, cfg, d.metrics.Registry); err != nil {
		d.metrics.Stop()
		return nil, err
	}
	aggCfg := aggregate.DefaultConfiguration()
	aggCfg.CollectorID = cfg.CollectorID
	aggCfg.Interval = cfg.Interval
	aggCfg.MaxKeys = cfg.MaxKeys
	bm := newBatchMetrics(d.metrics.Registry, d.templates)
	d.merger = aggregate.NewMerger(logger, aggCfg, d.reg, func(b *aggregate.Batch) {
		bm.observe(b)
		d.pipeline.Submit(b)
	})
	d.merger.Start()

	ctlCfg := control.DefaultConfiguration()
	ctlCfg.Socket = cfg.Control.Socket
	ctlCfg.Version = Version
	d.control, err = control.New(logger, ctlCfg, control.Dependencies{
		Config: cfg, Registry: d.reg, Table: &d.table, Sinks: d.pipeline.disp, Names: d.pipeline.disp,
		Unclassified: bm.latestUnclassified, Templates: d.templates, Incarnation: d.merger.Incarnation(),
		Metrics: d.metrics.Registry,
	})
	if err != nil {
		d.merger.Close()
		d.pipeline.Stop()
		d.metrics.Stop()
		return nil, err
	}

	d.collector, err = collector.New(ctx, logger, collector.Configuration{Listen: cfg.Listen, Interval: cfg.Interval},
		collector.Dependencies{Table: &d.table, Merger: d.merger, Templates: d.templates, Registry: d.metrics.Registry,
			Live: d.control.Tap()})
	if err != nil {
		d.merger.Close()
		d.pipeline.Stop()
		d.metrics.Stop()
		return nil, err
	}
	// Before the workers run: a core already answering on the socket is an
	// error before this one counts anything.
	if err := d.control.Start(ctx); err != nil {
		d.collector.Stop()
		d.merger.Close()
		d.pipeline.Stop()
		d.metrics.Stop()
		return nil, err
	}
	d.metrics.Start()
	d.collector.Start()

	saveCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go d.saveTemplates(saveCtx)
	logger.Info("lastfluss started", "collector_id", cfg.CollectorID, "interval", cfg.Interval.String(),
		"exporters", len(cfg.Exporters), "incarnation", d.merger.Incarnation())
	return d, nil
}

func (d *daemon) saveTemplates(ctx context.Context) {
	defer close(d.saverDone)
	t := time.NewTicker(saveEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.save()
		}
	}
}

func (d *daemon) save() {
	if err := d.templates.Save(filepath.Join(d.cfg.StateDir, templatesFile)); err != nil {
		d.logger.Warn("cannot save templates", "err", err)
	}
}

// stop closes the open interval (a partial batch), delivers what it can
// within the pipeline's bounded wait, and saves the templates.
func (d *daemon) stop() error {
	d.collector.Stop()
	d.merger.Close() // the partial interval is out to the pipeline
	d.control.Stop()
	d.pipeline.Stop()
	d.cancel()
	<-d.saverDone
	d.save()
	d.metrics.Stop()
	d.logger.Info("lastfluss stopped")
	return nil
}

// reload applies a changed configuration without losing the open interval.
// A broken configuration, or one whose plugin blocks a plugin refuses, is
// reported and the running one kept whole: exporters and plugins change
// together or not at all.
func (d *daemon) reload(path string) {
	loader := config.NewLoader()
	cfg, diags := loader.Load(path)
	if diags.HasErrors() {
		var b strings.Builder
		_ = loader.WriteDiagnostics(&b, diags)
		d.logger.Error("reload: the configuration has errors; keeping the running one", "errors", b.String())
		return
	}
	kept := keepRunning(d.cfg, cfg)
	// Plugins first: they are the part that can still refuse.
	if err := d.pipeline.Reload(cfg); err != nil {
		d.logger.Error("reload: the plugins refused the configuration; keeping the running one", "err", err)
		return
	}
	for _, what := range kept {
		d.logger.Warn("reload: this change needs a restart and is not applied", "setting", what)
	}
	d.table.Store(classify.NewTable(cfg, d.reg, d.table.Load()))
	d.control.SetConfig(cfg)
	d.cfg = cfg
	d.logger.Info("reloaded", "exporters", len(cfg.Exporters), "enrichers", len(cfg.Enrich), "sinks", len(cfg.Sinks))
}

// keepRunning sets back in cur the settings that cannot change while
// running, so that cur is what runs (and what status shows), and names
// those that differed.
func keepRunning(old, cur *config.Config) []string {
	var r []string
	keep(&r, "collector_id", old.CollectorID, &cur.CollectorID)
	keep(&r, "interval", old.Interval, &cur.Interval)
	keep(&r, "max_keys", old.MaxKeys, &cur.MaxKeys)
	keep(&r, "state_dir", old.StateDir, &cur.StateDir)
	keep(&r, "plugin_dir", old.PluginDir, &cur.PluginDir)
	keep(&r, "log", old.Log, &cur.Log)
	if fmt.Sprint(listenKeys(old)) != fmt.Sprint(listenKeys(cur)) {
		r = append(r, "listen")
		cur.Listen = old.Listen
	}
	keep(&r, "metrics", old.Metrics, &cur.Metrics)
	keep(&r, "control", old.Control, &cur.Control)
	return r
}

// keep sets *cur back to old when they differ, and adds name to r.
func keep[T comparable](r *[]string, name string, old T, cur *T) {
	if *cur != old {
		*r = append(*r, name)
		*cur = old
	}
}

func listenKeys(c *config.Config) []string {
	var k []string
	for _, l := range c.Listen {
		k = append(k, fmt.Sprintf("%s %s %d %d %s", l.Protocol, l.Address, l.Workers, l.ReceiveBuffer, l.Spread))
	}
	return k
}
