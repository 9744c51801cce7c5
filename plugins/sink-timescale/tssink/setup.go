package tssink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lastfluss/lastfluss/plugins/sink-postgres/pgsink"
)

// setupLockKey is the session advisory lock that serialises the
// TimescaleDB set-up of every collector on a database ("LfTsSetu").
const setupLockKey int64 = 0x4c66547353657475

// The fixes named by the errors of a server sink-timescale cannot use.
const (
	fixInstall = "install TimescaleDB on the database server (the timescaledb-2-postgresql-<major> package from Timescale's repository; " +
		"Debian's archive does not carry it), add shared_preload_libraries = 'timescaledb' to postgresql.conf and restart PostgreSQL; " +
		"or use plugin = \"sink-postgres\", which needs none"
	fixLicense = "this TimescaleDB is the Apache-2 edition, which has no continuous aggregates nor compression: " +
		"install the Community edition (Timescale's packages, not the -oss ones) and set timescaledb.license = 'timescale' in postgresql.conf; " +
		"or use plugin = \"sink-postgres\""
)

// Capabilities is what CheckServer found.
type Capabilities struct {
	Available bool   // the extension's files are installed
	Installed string // version of the extension in the database, "" if none
	License   string // timescaledb.license: "timescale" or "apache"
}

// Refusal is the error for a server with these capabilities, nil when
// sink-timescale can use it.
func (c Capabilities) Refusal() error {
	switch {
	case !c.Available && c.Installed == "":
		return pgsink.Fatal(errors.New("the PostgreSQL server has no TimescaleDB: " + fixInstall))
	case c.Installed != "" && c.License == "apache":
		return pgsink.Fatal(fmt.Errorf("TimescaleDB %s: %s", c.Installed, fixLicense))
	}
	return nil
}

// CheckServer refuses a server without TimescaleDB, or with its Apache-2
// edition, before anything is created on it, and creates the extension in
// the database when the server has it.
func CheckServer(ctx context.Context, pool *pgxpool.Pool) error {
	c, err := capabilities(ctx, pool)
	if err != nil {
		return err
	}
	if err := c.Refusal(); err != nil {
		return err
	}
	if c.Installed == "" {
		if _, err := pool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS timescaledb"); err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				return fmt.Errorf("create extension timescaledb: %w", err) // the connection: retried
			}
			return pgsink.Fatal(fmt.Errorf("create extension timescaledb (%w): have a superuser run CREATE EXTENSION timescaledb in this database, "+
				"and check that postgresql.conf has shared_preload_libraries = 'timescaledb'", err))
		}
		if c, err = capabilities(ctx, pool); err != nil {
			return err
		}
		return c.Refusal()
	}
	return nil
}

func capabilities(ctx context.Context, pool *pgxpool.Pool) (Capabilities, error) {
	var c Capabilities
	var installed, license *string
	err := pool.QueryRow(ctx, `SELECT
    EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),
    (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'),
    current_setting('timescaledb.license', true)`).Scan(&c.Available, &installed, &license)
	if err != nil {
		return c, fmt.Errorf("look for TimescaleDB: %w", err)
	}
	if installed != nil {
		c.Installed = *installed
	}
	if license != nil {
		c.License = *license
	}
	return c, nil
}

// Setup makes t a hypertable and gives it its rollups and policies. It is
// idempotent and runs under a session advisory lock, so that a restart or
// several collectors starting at once change nothing. New rollups are
// filled before any retention policy exists. It returns the retention in
// effect, per level, raw first.
func Setup(ctx context.Context, pool *pgxpool.Pool, t pgsink.Table, s Settings, log *slog.Logger) ([]time.Duration, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("timescale set-up: %w", err)
	}
	defer conn.Release()
	c := conn.Conn()
	// Creating rollups of a big table and filling them takes long.
	if _, err := c.Exec(ctx, "SET statement_timeout = 0"); err != nil {
		return nil, fmt.Errorf("timescale set-up: lift statement_timeout: %w", err)
	}
	if _, err := c.Exec(ctx, "SELECT pg_advisory_lock($1)", setupLockKey); err != nil {
		return nil, fmt.Errorf("timescale set-up: take the lock: %w", err)
	}
	defer func() {
		ctx := context.WithoutCancel(ctx)
		c.Exec(ctx, "SELECT pg_advisory_unlock($1)", setupLockKey)
		c.Exec(ctx, "RESET statement_timeout")
	}()
	st := setup{c: c, t: t, s: s, log: log}
	return st.run(ctx)
}

type setup struct {
	c   *pgx.Conn
	t   pgsink.Table
	s   Settings
	log *slog.Logger
}

func (st *setup) exec(ctx context.Context, what, sql string, args ...any) error {
	if _, err := st.c.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("timescale set-up of %s: %s: %w", st.t, what, err)
	}
	return nil
}

func (st *setup) bool(ctx context.Context, sql string, args ...any) (bool, error) {
	var b bool
	if err := st.c.QueryRow(ctx, sql, args...).Scan(&b); err != nil {
		return false, fmt.Errorf("timescale set-up of %s: %w", st.t, err)
	}
	return b, nil
}

func schemaOf(t pgsink.Table) string {
	if t.Schema == "" {
		return "current_schema()"
	}
	return "'" + t.Schema + "'" // identifiers only (ParseTable)
}

func (st *setup) run(ctx context.Context) ([]time.Duration, error) {
	t, s := st.t, st.s
	// 1. The hypertable: a plain table (new, or the first Lastfluss's with
	// its rows) is converted in place; a hypertable is kept.
	isHyper, err := st.bool(ctx, `SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
WHERE hypertable_schema = `+schemaOf(t)+` AND hypertable_name = $1)`, t.Name)
	if err != nil {
		return nil, err
	}
	if !isHyper {
		st.log.Info("converting to a hypertable (moves existing rows into chunks)", "table", t.String())
		if err := st.exec(ctx, "create_hypertable", `SELECT create_hypertable($1::regclass, 'time',
    chunk_time_interval => $2::interval, migrate_data => true, if_not_exists => true)`, t.Quoted(), s.ChunkInterval); err != nil {
			return nil, err
		}
	}
	if err := st.exec(ctx, "set_chunk_time_interval", "SELECT set_chunk_time_interval($1::regclass, $2::interval)", t.Quoted(), s.ChunkInterval); err != nil {
		return nil, err
	}

	// 2. Rollups, each from the level below; new ones are filled at once.
	for i := range s.Levels {
		r := Rollup(t, s.Levels[i])
		exists, err := st.bool(ctx, `SELECT EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
WHERE view_schema = `+schemaOf(r)+` AND view_name = $1)`, r.Name)
		if err != nil {
			return nil, err
		}
		if exists {
			continue
		}
		if err := st.exec(ctx, "create rollup "+r.String(), CreateRollup(t, s.Levels, i)); err != nil {
			return nil, err
		}
		st.log.Info("rollup created; filling it from the level below", "rollup", r.String())
		if err := st.exec(ctx, "fill rollup "+r.String(), "CALL refresh_continuous_aggregate($1::regclass, NULL, NULL)", r.Quoted()); err != nil {
			return nil, err
		}
	}

	// 3. Refresh policies.
	for _, l := range s.Levels {
		r := Rollup(t, l).Quoted()
		if err := st.policy(ctx, "policy_refresh_continuous_aggregate", r, map[string]time.Duration{"start_offset": l.StartOffset, "end_offset": l.EndOffset},
			"SELECT remove_continuous_aggregate_policy($1::regclass, if_exists => true)",
			"SELECT add_continuous_aggregate_policy($1::regclass, start_offset => $2::interval, end_offset => $3::interval, schedule_interval => $4::interval, if_not_exists => true)",
			l.StartOffset, l.EndOffset, l.Schedule); err != nil {
			return nil, err
		}
	}

	// 4. Compression (columnstore), raw table and rollups.
	columnstore, err := st.bool(ctx, "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'add_columnstore_policy')")
	if err != nil {
		return nil, err
	}
	rels := []string{t.Quoted()}
	for _, l := range s.Levels {
		rels = append(rels, Rollup(t, l).Quoted())
	}
	for i, rel := range rels {
		after := s.CompressAfter[i]
		if after != 0 {
			if err := st.enableCompression(ctx, i, rel); err != nil {
				return nil, err
			}
		}
		add := "SELECT add_compression_policy($1::regclass, compress_after => $2::interval, if_not_exists => true)"
		remove := "SELECT remove_compression_policy($1::regclass, if_exists => true)"
		if columnstore {
			add = "CALL add_columnstore_policy($1::regclass, after => $2::interval, if_not_exists => true)"
			remove = "CALL remove_columnstore_policy($1::regclass, if_exists => true)"
		}
		if err := st.policy(ctx, "policy_compression", rel, map[string]time.Duration{"compress_after": after}, remove, add, after); err != nil {
			return nil, err
		}
	}

	// 5. Retention, last: the rollups are filled by now.
	retention := s.Retention
	if retention == nil {
		var hadRows bool
		if err := st.c.QueryRow(ctx, "SELECT had_rows FROM lastfluss_timescale WHERE tbl = $1", t.String()).Scan(&hadRows); err != nil {
			return nil, fmt.Errorf("timescale set-up of %s: read lastfluss_timescale: %w", t, err)
		}
		retention = DefaultRetention(s.Levels, hadRows)
		if hadRows {
			st.log.Info("the table held rows before Lastfluss: no retention unless configured", "table", t.String())
		}
	}
	for i, rel := range rels {
		if err := st.policy(ctx, "policy_retention", rel, map[string]time.Duration{"drop_after": retention[i]},
			"SELECT remove_retention_policy($1::regclass, if_exists => true)",
			"SELECT add_retention_policy($1::regclass, drop_after => $2::interval, if_not_exists => true)",
			retention[i]); err != nil {
			return nil, err
		}
	}

	// 6. The dashboards' function, over the levels.
	if err := st.exec(ctx, "dashboards' function", TrafficFunc(t, s.Levels, retention)); err != nil {
		return nil, err
	}
	return retention, nil
}

// enableCompression turns compression on for relation i (0: the raw table)
// unless it is on; TimescaleDB refuses to change the settings of a table
// with compressed chunks.
func (st *setup) enableCompression(ctx context.Context, i int, rel string) error {
	var on bool
	var err error
	if i == 0 {
		on, err = st.bool(ctx, `SELECT compression_enabled FROM timescaledb_information.hypertables
WHERE format('%I.%I', hypertable_schema, hypertable_name)::regclass = $1::regclass`, rel)
	} else {
		on, err = st.bool(ctx, `SELECT compression_enabled FROM timescaledb_information.continuous_aggregates
WHERE format('%I.%I', view_schema, view_name)::regclass = $1::regclass`, rel)
	}
	if err != nil || on {
		return err
	}
	if i == 0 {
		// Segments per interface (dashboards filter on it); id in the
		// order so the primary key (id, time) stays enforceable.
		return st.exec(ctx, "enable compression", `ALTER TABLE `+rel+` SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'iface', timescaledb.compress_orderby = 'time DESC, id')`)
	}
	return st.exec(ctx, "enable compression", "ALTER MATERIALIZED VIEW "+rel+" SET (timescaledb.compress = true)")
}

// policy makes relation rel have a job proc with the intervals want (a 0
// interval: no job): kept when it has them, replaced when it has others.
// add takes rel and then args; remove takes rel.
func (st *setup) policy(ctx context.Context, proc, rel string, want map[string]time.Duration, remove, add string, args ...any) error {
	// The jobs view names a rollup's jobs by the rollup (2.28), or by its
	// materialisation hypertable: either matches.
	var rs, rn, ms, mn string
	err := st.c.QueryRow(ctx, `SELECT n.nspname, k.relname,
    coalesce(c.materialization_hypertable_schema, n.nspname), coalesce(c.materialization_hypertable_name, k.relname)
FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
LEFT JOIN timescaledb_information.continuous_aggregates c ON c.view_schema = n.nspname AND c.view_name = k.relname
WHERE k.oid = $1::regclass`, rel).Scan(&rs, &rn, &ms, &mn)
	if err != nil {
		return fmt.Errorf("timescale set-up: find the hypertable of %s: %w", rel, err)
	}
	rows, err := st.c.Query(ctx, `SELECT config FROM timescaledb_information.jobs
WHERE proc_name = $1 AND ((hypertable_schema = $2 AND hypertable_name = $3) OR (hypertable_schema = $4 AND hypertable_name = $5))`,
		proc, rs, rn, ms, mn)
	if err != nil {
		return fmt.Errorf("timescale set-up: read the jobs of %s: %w", rel, err)
	}
	configs, err := pgx.CollectRows(rows, pgx.RowTo[map[string]any])
	if err != nil {
		return fmt.Errorf("timescale set-up: read the jobs of %s: %w", rel, err)
	}
	off := false
	for _, d := range want {
		off = off || d == 0
	}
	same := len(configs) == 1 && !off
	for k, d := range want {
		if !same {
			break
		}
		v, _ := configs[0][k].(string)
		if same, err = st.bool(ctx, "SELECT $1::interval = $2::interval", v, d); err != nil {
			same = false
		}
	}
	if same {
		return nil
	}
	if len(configs) > 0 {
		if err := st.exec(ctx, "remove "+proc+" of "+rel, remove, rel); err != nil {
			return err
		}
	}
	if off {
		return nil
	}
	st.log.Info("adding policy", "relation", rel, "policy", proc, "settings", fmt.Sprint(want))
	return st.exec(ctx, "add "+proc+" to "+rel, add, append([]any{rel}, args...)...)
}
