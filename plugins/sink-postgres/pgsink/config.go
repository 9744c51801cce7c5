// Package pgsink stores Lastfluss batches in PostgreSQL: a `traffic` table
// the first Lastfluss's dashboards keep reading, a ledger that makes a
// replayed batch a no-op, and an `asn` table of AS names. The sink-postgres
// plugin is a thin main around it; sink-timescale can build on it (Migrate
// with more Migrations, WriteBatch, Sink.Pool).
package pgsink

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lastfluss/lastfluss/sdk"
)

// Settings is the decoded `config {}` block.
type Settings struct {
	DSN              string
	Table            Table
	PoolSize         int
	StatementTimeout time.Duration
	// LegacyInterval is the first Lastfluss's aggregation.period: rows it
	// wrote (bytes IS NULL) get bytes and interval_seconds from bandwidth.
	// Zero leaves them alone.
	LegacyInterval time.Duration
}

// Defaults.
const (
	DefaultTable            = "traffic"
	DefaultPoolSize         = 4
	DefaultStatementTimeout = 30 * time.Second
)

// Schema is the config schema of sink-postgres.
func Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "dsn", Type: sdk.TypeString, Required: true, Sensitive: true,
			Description: "PostgreSQL connection string (URL or key=value), e.g. postgres://lastfluss@db/lastfluss"},
		{Name: "table", Type: sdk.TypeString, Default: DefaultTable,
			Description: "table the rows go into, optionally schema-qualified; created when missing, a first-Lastfluss table is taken over"},
		{Name: "pool_size", Type: sdk.TypeNumber, Default: float64(DefaultPoolSize),
			Description: "maximum number of connections"},
		{Name: "statement_timeout", Type: sdk.TypeDuration, Default: DefaultStatementTimeout.String(),
			Description: "statement_timeout of every write; schema migrations run without one"},
		{Name: "legacy_interval", Type: sdk.TypeDuration,
			Description: "the first Lastfluss's aggregation.period: its rows get bytes = bandwidth × period / 8"},
	}}
}

// ParseSettings reads a decoded config. Values missing from cfg take their
// defaults, so a config built by hand in a test works too.
func ParseSettings(cfg sdk.Config) (Settings, error) {
	s := Settings{
		DSN:              cfg.String("dsn"),
		PoolSize:         DefaultPoolSize,
		StatementTimeout: DefaultStatementTimeout,
	}
	var errs []error
	if s.DSN == "" {
		errs = append(errs, errors.New("dsn: required"))
	} else if _, err := pgxpool.ParseConfig(s.DSN); err != nil {
		// The parser's message can quote the DSN, password included.
		errs = append(errs, errors.New("dsn: not a valid PostgreSQL connection string"))
	}
	table := DefaultTable
	if v, ok := cfg["table"]; ok {
		table, _ = v.(string)
	}
	t, err := ParseTable(table)
	if err != nil {
		errs = append(errs, fmt.Errorf("table: %w", err))
	}
	s.Table = t
	if v, ok := cfg["pool_size"]; ok {
		f, _ := v.(float64)
		if f < 1 || f > 1000 || f != math.Trunc(f) {
			errs = append(errs, fmt.Errorf("pool_size: want a whole number from 1 to 1000, got %v", v))
		}
		s.PoolSize = int(f)
	}
	if v, ok := cfg["statement_timeout"]; ok {
		d, err := duration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("statement_timeout: want a duration such as \"30s\" (0 for none), got %v", v))
		}
		s.StatementTimeout = d
	}
	if v, ok := cfg["legacy_interval"]; ok {
		d, err := duration(v)
		if err != nil || d < 0 || d%time.Second != 0 {
			errs = append(errs, fmt.Errorf("legacy_interval: want whole seconds such as \"60s\" (the old aggregation.period; 0 for none), got %v", v))
		}
		s.LegacyInterval = d
	}
	return s, errors.Join(errs...)
}

func duration(v any) (time.Duration, error) {
	switch v := v.(type) {
	case time.Duration:
		return v, nil
	case string:
		return time.ParseDuration(v)
	}
	return 0, fmt.Errorf("not a duration: %T", v)
}

// PoolConfig is the pgxpool configuration of s.
func (s Settings) PoolConfig() (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(s.DSN)
	if err != nil {
		return nil, errors.New("parse dsn: not a valid PostgreSQL connection string")
	}
	cfg.MaxConns = int32(s.PoolSize)
	rp := cfg.ConnConfig.RuntimeParams
	rp["statement_timeout"] = strconv.FormatInt(s.StatementTimeout.Milliseconds(), 10)
	if rp["application_name"] == "" {
		rp["application_name"] = "lastfluss-sink-postgres"
	}
	return cfg, nil
}

// Table names the traffic table, optionally schema-qualified.
type Table struct {
	Schema string // "" for the search path
	Name   string
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseTable reads "name" or "schema.name". Only plain identifiers are
// accepted: the names also go into index names.
func ParseTable(s string) (Table, error) {
	parts := strings.Split(s, ".")
	if len(parts) > 2 {
		return Table{}, fmt.Errorf("%q: want name or schema.name", s)
	}
	for _, p := range parts {
		if !identRe.MatchString(p) || len(p) > 50 {
			return Table{}, fmt.Errorf("%q: names are letters, digits and _ (at most 50), not starting with a digit", s)
		}
	}
	if len(parts) == 2 {
		return Table{Schema: parts[0], Name: parts[1]}, nil
	}
	return Table{Name: parts[0]}, nil
}

// String is the name as configured; it keys the ledger and the migrations.
func (t Table) String() string {
	if t.Schema == "" {
		return t.Name
	}
	return t.Schema + "." + t.Name
}

// Ident is the table for pgx (CopyFrom).
func (t Table) Ident() pgx.Identifier {
	if t.Schema == "" {
		return pgx.Identifier{t.Name}
	}
	return pgx.Identifier{t.Schema, t.Name}
}

// Quoted is the table quoted for SQL text.
func (t Table) Quoted() string { return t.Ident().Sanitize() }

// Index returns the quoted name of one of the table's indexes (indexes live
// in the table's schema and take no schema in CREATE INDEX).
func (t Table) Index(suffix string) string {
	return pgx.Identifier{t.Name + "_" + suffix}.Sanitize()
}
