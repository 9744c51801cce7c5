package tssink

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lastfluss/lastfluss/internal/pgtest"
)

// TimescaleDSNEnv names a PostgreSQL server that loads TimescaleDB (a
// superuser DSN); the TimescaleDB tests create their databases on it.
// pgtest's private cluster cannot preload the extension.
const TimescaleDSNEnv = "LASTFLUSS_TIMESCALE_DSN"

// ApacheDSNEnv names a server whose TimescaleDB is the Apache-2 edition
// (timescaledb.license = 'apache'), for the refusal test.
const ApacheDSNEnv = "LASTFLUSS_TIMESCALE_APACHE_DSN"

func TestMain(m *testing.M) { pgtest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// needTimescale returns the DSN of a fresh database on a server with
// TimescaleDB, or skips the test (the only skip allowed: it needs the
// extension) and records it for the banner.
func needTimescale(t *testing.T) string {
	t.Helper()
	return needServer(t, TimescaleDSNEnv, "TimescaleDB")
}

// needServer is needTimescale for the server named by env.
func needServer(t *testing.T, env, what string) string {
	t.Helper()
	admin := os.Getenv(env)
	if admin == "" {
		// On stderr too, so that it shows without -v: a pass of this
		// package is not a TimescaleDB run.
		fmt.Fprintf(os.Stderr, "!!!!! %s DID NOT RUN: it needs %s, which this machine lacks; set %s to a superuser DSN of a server that loads it\n",
			t.Name(), what, env)
		t.Skipf("NOT RUN: needs %s; set %s to a superuser DSN of a server that loads it", what, env)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("lastfluss_ts_%d_%s", os.Getpid(), strings.ToLower(strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())))
	if len(name) > 63 {
		name = name[:63]
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database on the TimescaleDB server: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable&password=%s", cfg.User, cfg.Host, cfg.Port, name, cfg.Password)
}
