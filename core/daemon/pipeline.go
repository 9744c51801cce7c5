package daemon

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/config"
)

// pipeline takes closed batches to the enrichers and sinks.
type pipeline struct {
	logger *slog.Logger
}

func newPipeline(ctx context.Context, logger *slog.Logger, cfg *config.Config, reg prometheus.Registerer) (*pipeline, error) {
	return &pipeline{logger: logger}, nil
}

func (p *pipeline) Submit(b *aggregate.Batch) {
	p.logger.Debug("batch closed; no sink configured", "batch", b.ID, "rows", len(b.Rows), "partial", b.Partial)
}

func (p *pipeline) Reload(cfg *config.Config) error { return nil }

func (p *pipeline) Stop() {}
