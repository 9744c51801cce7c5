package pgsink

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Migration is one versioned step of the schema of a traffic table. Each
// version is applied once per table and recorded in
// lastfluss_schema_migrations. Never change a released migration: add one.
type Migration struct {
	Version int
	Name    string
	SQL     func(t Table) string // may hold several statements
}

// Migrations are sink-postgres's steps. A sink built on this package
// (sink-timescale) appends its own with higher versions.
var Migrations = []Migration{
	{Version: 1, Name: "traffic table with the first Lastfluss's columns and the new ones; ledger; asn", SQL: migration1},
	{Version: 2, Name: "function lastfluss_<table>(from, to, max_bucket) for dashboards", SQL: RawTrafficFunc},
}

// TrafficColumns are the columns of the traffic table (id aside) and of its
// rollups, with their types: what the dashboards' function returns.
const TrafficColumns = `"time" timestamptz, bandwidth real, iface text, ingress boolean,
    remote_asn bigint, local_asn bigint, exporter text, role text, ip_version smallint,
    bytes bigint, packets bigint, flows bigint, interval_seconds integer, collector text,
    other boolean`

// ColumnList is TrafficColumns without the types, for SELECT lists.
const ColumnList = `time, bandwidth, iface, ingress, remote_asn, local_asn, exporter, role,
    ip_version, bytes, packets, flows, interval_seconds, collector, other`

// Func is the quoted name of the dashboards' function of t:
// lastfluss_<table> in the table's schema (lastfluss_traffic by default).
func (t Table) Func() string {
	if t.Schema == "" {
		return pgx.Identifier{"lastfluss_" + t.Name}.Sanitize()
	}
	return pgx.Identifier{t.Schema, "lastfluss_" + t.Name}.Sanitize()
}

// FuncSignature is the head of the dashboards' function of t. Dashboards
// call it with the panel's time range; max_bucket (NULL: any) bounds the
// resolution a sink with rollups may answer with (the 95th percentile
// needs 5-minute or finer rows).
func (t Table) FuncSignature() string {
	return "CREATE OR REPLACE FUNCTION " + t.Func() + `(from_time timestamptz, to_time timestamptz, max_bucket interval DEFAULT NULL)
RETURNS TABLE (` + TrafficColumns + `)`
}

// RawTrafficFunc installs the dashboards' function over the raw table only:
// plain PostgreSQL has no rollups. sink-timescale replaces it with one that
// picks a rollup for long ranges.
func RawTrafficFunc(t Table) string {
	return t.FuncSignature() + `
LANGUAGE sql STABLE AS $f$
SELECT ` + ColumnList + ` FROM ` + t.Quoted() + ` WHERE time BETWEEN $1 AND $2
$f$;
COMMENT ON FUNCTION ` + t.Func() + `(timestamptz, timestamptz, interval) IS
    'Lastfluss: the rows of ` + t.String() + ` (or of a rollup of it) between from_time and to_time, for dashboards';`
}

// lockKey is the pg_advisory_xact_lock key that serialises migrations of
// every sink and collector on a database ("Lastflus").
const lockKey int64 = 0x4c617374666c7573

func migration1(t Table) string {
	schema := ""
	if t.Schema != "" {
		schema = "CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{t.Schema}.Sanitize() + ";\n"
	}
	q := t.Quoted()
	// The first importer's statement, verbatim, so that a table it made and
	// one made here are the same; the new columns are added to both.
	return schema + `
CREATE TABLE IF NOT EXISTS ` + q + ` (
    id BIGSERIAL,
    time TIMESTAMPTZ NOT NULL,
    bandwidth REAL NOT NULL,
    iface TEXT,
    ingress BOOLEAN NOT NULL,
    remote_asn BIGINT,
    local_asn BIGINT,
    PRIMARY KEY(id, time)
);
ALTER TABLE ` + q + `
    ADD COLUMN IF NOT EXISTS exporter TEXT,
    ADD COLUMN IF NOT EXISTS role TEXT,
    ADD COLUMN IF NOT EXISTS ip_version SMALLINT,
    ADD COLUMN IF NOT EXISTS bytes BIGINT,
    ADD COLUMN IF NOT EXISTS packets BIGINT,
    ADD COLUMN IF NOT EXISTS flows BIGINT,
    ADD COLUMN IF NOT EXISTS interval_seconds INTEGER,
    ADD COLUMN IF NOT EXISTS collector TEXT,
    ADD COLUMN IF NOT EXISTS other BOOLEAN NOT NULL DEFAULT false;
-- The dashboards filter on a time range, some per interface. Every index
-- costs COPY time (per 100k-row batch about 150 ms of server CPU for
-- (iface, time), as much again for (remote_asn, time)), so only these two.
-- (TimescaleDB's create_hypertable names its index <table>_time_idx too.)
CREATE INDEX IF NOT EXISTS ` + t.Index("time_idx") + ` ON ` + q + ` (time);
CREATE INDEX IF NOT EXISTS ` + t.Index("iface_time_idx") + ` ON ` + q + ` (iface, time);
-- Rows the first importer wrote (no bytes): finds them for the backfill
-- without a scan of the whole table at every start; empty afterwards.
CREATE INDEX IF NOT EXISTS ` + t.Index("legacy_idx") + ` ON ` + q + ` (time) WHERE bytes IS NULL;
CREATE TABLE IF NOT EXISTS lastfluss_batches (
    tbl TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    rows BIGINT NOT NULL,
    PRIMARY KEY (tbl, batch_id)
);
CREATE TABLE IF NOT EXISTS asn (
    asn BIGINT PRIMARY KEY,
    name TEXT,
    description TEXT,
    country TEXT,
    updated_at TIMESTAMPTZ
);`
}

// MigrateResult tells what Migrate did.
type MigrateResult struct {
	Applied    []int // versions applied now
	Backfilled int64 // first-Lastfluss rows given bytes
}

// Migrate brings the schema of t up to the newest of ms and, when legacy is
// set, backfills bytes and interval_seconds of the first Lastfluss's rows.
// Everything happens in one transaction under an advisory lock, so several
// collectors starting at once apply each step exactly once and a failure
// leaves the schema as it was. Migrations run without statement_timeout:
// taking over a big table builds indexes.
func Migrate(ctx context.Context, pool *pgxpool.Pool, t Table, legacy time.Duration, ms []Migration, log *slog.Logger) (MigrateResult, error) {
	var res MigrateResult
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })

	tx, err := pool.Begin(ctx)
	if err != nil {
		return res, fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
		return res, fmt.Errorf("lift statement_timeout for the migration: %w", err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
		return res, fmt.Errorf("take the migration lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS lastfluss_schema_migrations (
    tbl TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tbl, version)
)`); err != nil {
		return res, fmt.Errorf("create lastfluss_schema_migrations: %w", err)
	}
	rows, err := tx.Query(ctx, "SELECT version FROM lastfluss_schema_migrations WHERE tbl = $1", t.String())
	if err != nil {
		return res, fmt.Errorf("read applied migrations: %w", err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return res, fmt.Errorf("read applied migrations: %w", err)
	}
	for _, m := range ms {
		if slices.Contains(done, int32(m.Version)) {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL(t)); err != nil {
			return res, fmt.Errorf("migration %d (%s) of %s: %w", m.Version, m.Name, t, err)
		}
		if _, err := tx.Exec(ctx,
			"INSERT INTO lastfluss_schema_migrations (tbl, version, name) VALUES ($1, $2, $3)",
			t.String(), m.Version, m.Name); err != nil {
			return res, fmt.Errorf("record migration %d of %s: %w", m.Version, t, err)
		}
		res.Applied = append(res.Applied, m.Version)
	}
	if secs := int64(legacy / time.Second); secs > 0 {
		// bandwidth was bytes × 8 / period (bit/s); REAL → float8 keeps the
		// stored value exactly, numeric would round it to 6 digits first.
		tag, err := tx.Exec(ctx, `UPDATE `+t.Quoted()+`
SET bytes = round(bandwidth::float8 * $1::float8 / 8)::bigint,
    interval_seconds = COALESCE(interval_seconds, $2::integer)
WHERE bytes IS NULL`, float64(secs), secs)
		if err != nil {
			return res, fmt.Errorf("backfill bytes of the first Lastfluss's rows in %s: %w", t, err)
		}
		res.Backfilled = tag.RowsAffected()
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("commit migration of %s: %w", t, err)
	}
	if len(res.Applied) > 0 || res.Backfilled > 0 {
		log.Info("schema migrated", "table", t.String(), "applied", res.Applied, "backfilled_rows", res.Backfilled)
	}
	return res, nil
}
