package pgsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lastfluss/lastfluss/sdk"
)

// Version of the sink-postgres plugin.
const Version = "0.1.0"

// Sink is the sink-postgres plugin.
type Sink struct {
	// Logger receives the sink's logs; slog.Default() when nil.
	Logger *slog.Logger
	// Migrations to apply at Configure; the package's Migrations when nil.
	Migrations []Migration

	mu       sync.RWMutex
	pool     *pgxpool.Pool
	settings Settings
}

var _ sdk.Sink = (*Sink)(nil)

// Info implements sdk.Plugin.
func (s *Sink) Info() sdk.Info {
	return sdk.Info{Name: "sink-postgres", Kind: sdk.KindSink, Version: Version, APIVersion: sdk.APIVersion}
}

// ConfigSchema implements sdk.Plugin.
func (s *Sink) ConfigSchema() sdk.Schema { return Schema() }

func (s *Sink) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Configure connects to the database and migrates the schema. A second call
// replaces the first's pool.
func (s *Sink) Configure(ctx context.Context, cfg sdk.Config) error {
	settings, err := ParseSettings(cfg)
	if err != nil {
		return err
	}
	pcfg, err := settings.PoolConfig()
	if err != nil {
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("open connection pool: %w", err)
	}
	// pgconn's errors name host, user and database, never the password.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	ms := s.Migrations
	if ms == nil {
		ms = Migrations
	}
	if _, err := Migrate(ctx, pool, settings.Table, settings.LegacyInterval, ms, s.log()); err != nil {
		pool.Close()
		return err
	}
	s.mu.Lock()
	old := s.pool
	s.pool, s.settings = pool, settings
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	s.log().Info("sink-postgres ready", "table", settings.Table.String(), "pool_size", settings.PoolSize)
	return nil
}

// Write implements sdk.Sink: nil once b is committed, or when it was
// stored before.
func (s *Sink) Write(ctx context.Context, b *sdk.Batch) error {
	s.mu.RLock()
	pool, t := s.pool, s.settings.Table
	s.mu.RUnlock()
	if pool == nil {
		return errors.New("write before configure")
	}
	stored, err := WriteBatch(ctx, pool, t, b)
	if err != nil {
		return err
	}
	if !stored {
		s.log().Info("batch already stored, skipped", "batch", b.ID, "table", t.String())
	} else {
		s.log().Debug("batch stored", "batch", b.ID, "table", t.String(), "rows", len(b.Rows))
	}
	return nil
}

// Pool is the connection pool after Configure, for a sink built on this
// one; nil before.
func (s *Sink) Pool() *pgxpool.Pool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.pool
}

// Settings are the settings of the last Configure.
func (s *Sink) Settings() Settings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.settings
}

// Close closes the pool.
func (s *Sink) Close() {
	s.mu.Lock()
	pool := s.pool
	s.pool = nil
	s.mu.Unlock()
	if pool != nil {
		pool.Close()
	}
}
