package tssink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lastfluss/lastfluss/plugins/sink-postgres/pgsink"
	"github.com/lastfluss/lastfluss/sdk"
)

// Version of the sink-timescale plugin.
const Version = "0.1.0"

// Sink is the sink-timescale plugin: pgsink's sink, with a TimescaleDB
// check before its migrations and the hypertable, rollups and policies
// set up after them.
type Sink struct {
	// Logger receives the sink's logs; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock that tells late batches; time.Now when nil.
	Now func() time.Time

	pg    pgsink.Sink
	hooks sync.Once

	mu        sync.RWMutex
	settings  Settings
	retention []time.Duration // in effect: configured or defaulted at set-up

	tooOld  atomic.Int64 // batches older than the raw retention
	refresh atomic.Int64 // refresh_continuous_aggregate calls for late batches
}

var _ sdk.Sink = (*Sink)(nil)

// Info implements sdk.Plugin.
func (s *Sink) Info() sdk.Info {
	return sdk.Info{Name: "sink-timescale", Kind: sdk.KindSink, Version: Version, APIVersion: sdk.APIVersion}
}

// ConfigSchema implements sdk.Plugin.
func (s *Sink) ConfigSchema() sdk.Schema { return Schema() }

func (s *Sink) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Sink) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Migrations are sink-postgres's and sink-timescale's.
var Migrations = append(slices.Clone(pgsink.Migrations),
	pgsink.Migration{Version: 101, Name: "timescale: remember whether the table held rows before Lastfluss", SQL: migrationState},
)

// migrationState records, once, whether the table held rows that Lastfluss
// did not write (the first Lastfluss's: no collector): the default
// retention then keeps everything.
func migrationState(t pgsink.Table) string {
	return `CREATE TABLE IF NOT EXISTS lastfluss_timescale (
    tbl TEXT PRIMARY KEY,
    had_rows BOOLEAN NOT NULL,
    since TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO lastfluss_timescale (tbl, had_rows)
SELECT '` + t.String() + `', EXISTS (SELECT 1 FROM ` + t.Quoted() + ` WHERE collector IS NULL)
ON CONFLICT (tbl) DO NOTHING;`
}

// Configure checks the settings, then connects, checks the server for
// TimescaleDB, migrates and sets up the hypertable, rollups and policies.
// Bad settings and a server without a usable TimescaleDB are errors; a
// database that is down only a warning (Write sets it up later).
func (s *Sink) Configure(ctx context.Context, cfg sdk.Config) error {
	settings, err := ParseSettings(cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.settings = settings
	s.retention = nil
	s.mu.Unlock()
	// The hooks read the settings of the latest Configure.
	s.hooks.Do(func() {
		s.pg.Logger = s.log()
		s.pg.Migrations = Migrations
		s.pg.Check = func(ctx context.Context, pool *pgxpool.Pool, _ pgsink.Settings) error {
			return CheckServer(ctx, pool)
		}
		s.pg.Setup = func(ctx context.Context, pool *pgxpool.Pool, ps pgsink.Settings) error {
			s.mu.RLock()
			settings := s.settings
			s.mu.RUnlock()
			retention, err := Setup(ctx, pool, ps.Table, settings, s.log())
			if err != nil {
				return err
			}
			s.mu.Lock()
			s.retention = retention
			s.mu.Unlock()
			return nil
		}
	})
	return s.pg.Configure(ctx, cfg)
}

// Write stores b as sink-postgres does and then refreshes the rollups of
// a late batch (one the refresh policies no longer reach).
func (s *Sink) Write(ctx context.Context, b *sdk.Batch) error {
	s.mu.RLock()
	settings := s.settings
	s.mu.RUnlock()
	if len(settings.Levels) == 0 {
		return errors.New("write before configure")
	}
	if first := settings.Levels[0].Bucket; b.Interval <= 0 || first%b.Interval != 0 {
		err := fmt.Errorf("batch %s: the collector's interval %v does not divide the first rollup bucket %s: "+
			"set interval to one that divides it (1m, 5m, …) or change rollups; batches stay queued",
			b.ID, b.Interval, ShortSpan(first))
		s.log().Error("refusing batch", "error", err)
		return err
	}
	pool, err := s.pg.Ready(ctx)
	if err != nil {
		return fmt.Errorf("batch %s not written: %w", b.ID, err)
	}
	t := s.pg.Settings().Table
	stored, err := pgsink.WriteBatch(ctx, pool, t, b)
	if err != nil {
		s.pg.NotReady(err)
		return err
	}
	if !stored {
		s.log().Info("batch already stored, skipped", "batch", b.ID, "table", t.String())
	}
	s.mu.RLock()
	retention := s.retention
	s.mu.RUnlock()
	p := PlanRefresh(s.now(), b.Start, b.Interval, settings.Levels, retention)
	if p.TooOld {
		n := s.tooOld.Add(1)
		s.log().Warn("batch older than the raw retention: stored, but the retention job drops it, and rollups are not refreshed with it (their other rows would be lost)",
			"batch", b.ID, "start", b.Start, "raw_retention", ShortSpan(retention[0]), "too_old_batches", n)
	}
	// Even for a replayed batch: its refresh may be what failed before.
	for _, w := range p.Windows {
		if err := refresh(ctx, pool, Rollup(t, settings.Levels[w.Level]).Quoted(), w.From, w.To); err != nil {
			// The batch is stored; the retry is a no-op write and this
			// refresh again.
			return fmt.Errorf("batch %s stored, refresh of rollup %s failed: %w", b.ID, settings.Levels[w.Level].Suffix(), err)
		}
		s.refresh.Add(1)
	}
	if len(p.Windows) > 0 {
		s.log().Info("late batch refreshed into the rollups", "batch", b.ID, "levels", len(p.Windows))
	}
	return nil
}

// refresh refreshes one window of a rollup, waiting a little for a
// refresh policy that is running on the same rollup (55P03).
func refresh(ctx context.Context, pool *pgxpool.Pool, rollup string, from, to time.Time) error {
	for attempt := 1; ; attempt++ {
		_, err := pool.Exec(ctx, "CALL refresh_continuous_aggregate($1::regclass, $2::timestamptz, $3::timestamptz)", rollup, from, to)
		var pgErr *pgconn.PgError
		if err == nil || attempt == 5 || !errors.As(err, &pgErr) || pgErr.Code != "55P03" {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

// TooOld is the number of batches older than the raw retention so far.
func (s *Sink) TooOld() int64 { return s.tooOld.Load() }

// Close closes the pool.
func (s *Sink) Close() { s.pg.Close() }

// Window is one refresh of one level.
type Window struct {
	Level    int // index into the levels
	From, To time.Time
}

// Plan says what a batch needs after its commit.
type Plan struct {
	Windows []Window // refreshes, finest level first
	TooOld  bool     // older than the raw retention
}

// PlanRefresh tells which rollup buckets a batch starting at start must be
// refreshed into: those of the levels whose refresh policy no longer
// reaches it (a late batch, after an outage), and every level below such a
// level, since a level is built from the materialised rows of the one
// below. A level is not refreshed, nor any above it, where the level below
// has dropped rows of that bucket (retention): a refresh would replace the
// bucket with what is left. retention is per level, raw first, 0 for
// forever; nil for none known.
func PlanRefresh(now, start time.Time, interval time.Duration, levels []Level, retention []time.Duration) Plan {
	var p Plan
	keeps := func(i int, at time.Time) bool { // level i (0: raw) still holds rows at at
		return retention == nil || retention[i] == 0 || !at.Before(now.Add(-retention[i]))
	}
	p.TooOld = !keeps(0, start.Add(interval))
	last := -1
	for i, l := range levels {
		if start.UTC().Truncate(l.Bucket).Before(now.Add(-l.StartOffset)) {
			last = i
		}
	}
	for i := 0; i <= last; i++ {
		from := start.UTC().Truncate(levels[i].Bucket)
		if !keeps(i, from) {
			break
		}
		p.Windows = append(p.Windows, Window{Level: i, From: from, To: from.Add(levels[i].Bucket)})
	}
	return p
}
