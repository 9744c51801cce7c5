package pgsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
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
	// Setup, when set, runs after the migrations each time the sink gets
	// the database ready (a sink built on this one: hypertables, policies).
	// Wrap an error in Fatal to make Configure fail with it instead of
	// retrying at the next Write.
	Setup func(ctx context.Context, pool *pgxpool.Pool, s Settings) error
	// Check, when set, runs before the migrations each time the sink gets
	// the database ready: a server a sink cannot use is refused (wrap the
	// error in Fatal) before anything is created on it.
	Check func(ctx context.Context, pool *pgxpool.Pool, s Settings) error

	mu       sync.RWMutex
	pool     *pgxpool.Pool
	settings Settings
	ready    bool       // connected, migrated and set up on pool
	setupMu  sync.Mutex // one (re)connection attempt at a time
}

// FatalError is a set-up error that retrying cannot fix (a server without
// a required extension): Configure returns it instead of only logging it.
type FatalError struct{ Err error }

func (e *FatalError) Error() string { return e.Err.Error() }
func (e *FatalError) Unwrap() error { return e.Err }

// Fatal marks err as a FatalError; nil stays nil.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return &FatalError{Err: err}
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

// Configure checks the settings, opens the pool and tries to connect and
// migrate. Wrong settings are an error; an unreachable database (or a
// migration that fails on it) only logs a warning: the core keeps the
// batches in its durable queue and Write connects and migrates once the
// database answers. A second call replaces the first's pool.
func (s *Sink) Configure(ctx context.Context, cfg sdk.Config) error {
	settings, err := ParseSettings(cfg)
	if err != nil {
		return err
	}
	pcfg, err := settings.PoolConfig()
	if err != nil {
		return err
	}
	// Connections are made lazily: this fails only on a bad configuration.
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("open connection pool: %w", err)
	}
	s.mu.Lock()
	old := s.pool
	s.pool, s.settings, s.ready = pool, settings, false
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	if _, err := s.Ready(ctx); err != nil {
		var fatal *FatalError
		if errors.As(err, &fatal) {
			return err
		}
		// pgconn's errors name host, user and database, never the password.
		s.log().Warn("database not ready; batches stay queued until it is", "table", settings.Table.String(), "error", err)
		return nil
	}
	s.log().Info("database ready", "table", settings.Table.String(), "pool_size", settings.PoolSize)
	return nil
}

// Ready returns the pool once the database is connected, migrated and set
// up, doing so now if it is not yet (after a Configure that found the
// database down, or a table that disappeared).
func (s *Sink) Ready(ctx context.Context) (*pgxpool.Pool, error) {
	s.mu.RLock()
	pool, settings, ready := s.pool, s.settings, s.ready
	s.mu.RUnlock()
	if pool == nil {
		return nil, errors.New("write before configure")
	}
	if ready {
		return pool, nil
	}
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	s.mu.RLock()
	ready = s.ready && s.pool == pool
	s.mu.RUnlock()
	if ready {
		return pool, nil
	}
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if s.Check != nil {
		if err := s.Check(ctx, pool, settings); err != nil {
			return nil, err
		}
	}
	ms := s.Migrations
	if ms == nil {
		ms = Migrations
	}
	if _, err := Migrate(ctx, pool, settings.Table, settings.LegacyInterval, ms, s.log()); err != nil {
		return nil, err
	}
	if s.Setup != nil {
		if err := s.Setup(ctx, pool, settings); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	if s.pool == pool {
		s.ready = true
	}
	s.mu.Unlock()
	return pool, nil
}

// NotReady makes the next Ready migrate and set up again: after an error
// that says the schema is gone (the database was recreated).
func (s *Sink) NotReady(err error) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000" || pgErr.Code == "42883") {
		s.mu.Lock()
		s.ready = false
		s.mu.Unlock()
	}
}

// Write implements sdk.Sink: nil once b is committed, or when it was
// stored before. While the database is down it fails and the core keeps b.
func (s *Sink) Write(ctx context.Context, b *sdk.Batch) error {
	pool, err := s.Ready(ctx)
	if err != nil {
		return fmt.Errorf("batch %s not written: %w", b.ID, err)
	}
	t := s.Settings().Table
	stored, err := WriteBatch(ctx, pool, t, b)
	if err != nil {
		s.NotReady(err)
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
	s.pool, s.ready = nil, false
	s.mu.Unlock()
	if pool != nil {
		pool.Close()
	}
}
