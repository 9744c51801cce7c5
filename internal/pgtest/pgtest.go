// Package pgtest runs a private PostgreSQL cluster for the tests of one test
// binary, started from the host's server binaries, and hands each test a
// database of its own.
//
// Use it from TestMain so that the cluster is stopped and removed when the
// tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.NewDB(t)
//		...
//	}
//
// Without TestMain the cluster still starts lazily on the first NewDB and
// dies with the test process (parent-death signal); its directory is removed
// by the next run.
//
// The cluster trades durability for speed (fsync, full_page_writes and
// synchronous_commit off), listens only on 127.0.0.1 on a free port and keeps
// its socket in its own directory, so it never meets another cluster. As
// root the server runs as the `postgres` user, as PostgreSQL requires.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BinDirEnv names the environment variable that overrides where the server
// binaries (initdb, postgres) are looked for.
const BinDirEnv = "LASTFLUSS_PG_BINDIR"

// dirPrefix is the prefix of every cluster directory under the temp dir; the
// next run removes the ones whose owner died.
const dirPrefix = "lastfluss-pgtest-"

// Missing is the advice given when the server binaries are not found.
const Missing = "PostgreSQL server binaries (initdb, postgres) not found; " +
	"run scripts/ensure-postgres.sh (as root it installs postgresql-15 from Debian's archive), " +
	"or set " + BinDirEnv + " to their directory"

var (
	once    sync.Once
	shared  *Cluster
	errInit error
	dbSeq   atomic.Int64
)

// Main runs the tests and then stops and removes the cluster, if one was
// started. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain that has more to clean up: it runs the tests,
// stops the cluster and returns the exit code.
func Run(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	return code
}

// cluster returns the test binary's cluster, starting it on first use.
func cluster(tb testing.TB) *Cluster {
	tb.Helper()
	once.Do(func() {
		shared, errInit = Start(context.Background())
	})
	if errInit != nil {
		tb.Fatalf("pgtest: %v", errInit)
	}
	return shared
}

// NewDB creates a fresh, empty database for the test and drops it when the
// test ends. It returns a DSN that connects to it as a superuser over TCP.
func NewDB(tb testing.TB) string {
	tb.Helper()
	c := cluster(tb)
	name := dbName(tb.Name())
	ctx := context.Background()
	if _, err := c.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		// FORCE ends connections a test left open (pools closed late).
		if _, err := c.admin.Exec(context.Background(),
			"DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return c.DSN(name)
}

// KillConnections terminates every server process connected to the
// database of dsn (pg_terminate_backend), as a lost connection would, and
// returns how many it ended.
func KillConnections(tb testing.TB, dsn string) int {
	tb.Helper()
	c := cluster(tb)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatalf("pgtest: parse dsn: %v", err)
	}
	var n int
	err = c.admin.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
		FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, cfg.Database).Scan(&n)
	if err != nil {
		tb.Fatalf("pgtest: terminate connections to %s: %v", cfg.Database, err)
	}
	return n
}

// Admin returns a pool connected to the cluster's `postgres` database, for
// tests that need to watch or disturb other sessions.
func Admin(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	return cluster(tb).admin
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// dbName derives a unique, readable database name from a test name.
func dbName(test string) string {
	base := unsafeChars.ReplaceAllString(strings.ToLower(test), "_")
	suffix := fmt.Sprintf("_%d_%d", os.Getpid(), dbSeq.Add(1))
	if max := 63 - len("t_") - len(suffix); len(base) > max {
		base = base[:max]
	}
	return "t_" + base + suffix
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	Dir    string // holds data/, sock/ and server.log
	Port   int
	BinDir string

	admin *pgxpool.Pool
	lock  *os.File // flock held while the cluster lives
	proc  *os.Process
	exit  chan struct{} // closed when the postmaster exited
	err   error         // its exit status, valid after exit is closed
}

// DSN returns a connection string for database db on the cluster.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// FindBinDir returns the directory of initdb and postgres: $LASTFLUSS_PG_BINDIR,
// else the newest /usr/lib/postgresql/<major>/bin, else initdb's directory
// on PATH.
func FindBinDir() (string, error) {
	ok := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv(BinDirEnv); dir != "" {
		if ok(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("%s=%s: %s", BinDirEnv, dir, Missing)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return major(dirs[i]) > major(dirs[j]) })
	for _, dir := range dirs {
		if ok(dir) {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && ok(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", errors.New(Missing)
}

func major(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start initialises and starts a new cluster. Stop it with Stop.
func Start(ctx context.Context) (*Cluster, error) {
	binDir, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	base := tempBase(cred)
	removeStale(base)
	dir, err := os.MkdirTemp(base, dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	c := &Cluster{Dir: dir, BinDir: binDir}
	if err := c.start(ctx, cred); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, cred *syscall.Credential) error {
	lock, err := os.OpenFile(filepath.Join(c.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("create lock file: %w", err)
	}
	c.lock = lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("lock %s: %w", c.Dir, err)
	}
	sock := filepath.Join(c.Dir, "sock")
	if err := os.Mkdir(sock, 0o700); err != nil {
		return fmt.Errorf("create socket directory: %w", err)
	}
	if cred != nil {
		for _, p := range []string{c.Dir, sock} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return fmt.Errorf("hand %s to the postgres user: %w", p, err)
			}
		}
	}

	data := filepath.Join(c.Dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(c.BinDir, "initdb"),
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	initdb.Env = serverEnv()
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}

	// A port found free can be taken before the server binds it: try again
	// with another one.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return err
		}
		c.Port = port
		if lastErr = c.run(ctx, cred, data, sock); lastErr == nil {
			return nil
		}
		if !strings.Contains(lastErr.Error(), "could not bind") &&
			!strings.Contains(lastErr.Error(), "could not create listen socket") {
			return lastErr
		}
	}
	return lastErr
}

// run starts the postmaster on c.Port and waits until it accepts
// connections or exits.
func (c *Cluster) run(ctx context.Context, cred *syscall.Credential, data, sock string) error {
	logPath := filepath.Join(c.Dir, "server.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create server log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(c.BinDir, "postgres"),
		"-D", data,
		"-c", "port="+strconv.Itoa(c.Port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+sock,
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
		"-c", "synchronous_commit=off",
		"-c", "max_connections=200",
		"-c", "logging_collector=off",
	)
	// SIGQUIT is an immediate shutdown: the postmaster takes its backends
	// down with it when the test process dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	cmd.Env = serverEnv()
	cmd.Stdout = logf
	cmd.Stderr = logf

	// The parent-death signal fires when the thread that forked exits, not
	// the process: fork from a thread locked for the server's lifetime so a
	// goroutine elsewhere that exits while locked cannot kill the server.
	started := make(chan error, 1)
	exit := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.err = cmd.Wait()
		close(exit)
		runtime.UnlockOSThread()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.proc, c.exit = cmd.Process, exit

	cfg, err := pgxpool.ParseConfig(c.DSN("postgres"))
	if err != nil {
		return err
	}
	cfg.MaxConns = 4
	for {
		select {
		case <-exit:
			c.proc = nil
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres exited during start-up (%v):\n%s", c.err, tail(log, 40))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err == nil {
			if err = pool.Ping(ctx); err == nil {
				c.admin = pool
				return nil
			}
			pool.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts the server down (fast shutdown) and removes its directory.
func (c *Cluster) Stop() error {
	if c.admin != nil {
		c.admin.Close()
		c.admin = nil
	}
	var errs []error
	if c.proc != nil {
		if err := c.proc.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("stop postgres: %w", err))
		}
		<-c.exit
		c.proc = nil
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", c.Dir, err))
	}
	if c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
	return errors.Join(errs...)
}

// serverCredential is nil when the server can run as the current user, and
// the postgres user's when running as root (PostgreSQL refuses root).
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, the server must run as the postgres user: %w (%s)", err, Missing)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// tempBase is the directory the cluster directory goes into: the temp dir,
// or /tmp when the postgres user could not traverse the temp dir.
func tempBase(cred *syscall.Credential) string {
	base := os.TempDir()
	if cred == nil {
		return base
	}
	for p := base; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if p == "/" {
			return base
		}
	}
}

// removeStale removes cluster directories left by test processes that died:
// their lock is free.
func removeStale(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
	for _, dir := range dirs {
		f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR, 0)
		if err != nil {
			continue // being created, or not ours
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.RemoveAll(dir)
		}
		f.Close()
	}
}

func serverEnv() []string {
	env := []string{"LC_ALL=C", "PATH=/usr/bin:/bin"}
	if tz := os.Getenv("TZ"); tz != "" {
		env = append(env, "TZ="+tz)
	}
	return env
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, lines int) string {
	s := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(s) > lines {
		s = s[len(s)-lines:]
	}
	return strings.Join(s, "\n")
}

// ServerCPU returns the CPU time the cluster's processes have used so far
// (the postmaster and its children, exited children included). Benchmarks
// report it beside wall time, which other load on the machine inflates.
func ServerCPU(tb testing.TB) time.Duration {
	tb.Helper()
	c := cluster(tb)
	ticks := func(pid int, withChildren bool) int64 {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return 0 // exited meanwhile: counted in the postmaster's cutime
		}
		// Fields after the command name, which may hold spaces: state is
		// field 3, utime 14, stime 15, cutime 16, cstime 17.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		var sum int64
		n := 2 // utime, stime
		if withChildren {
			n = 4 // and cutime, cstime
		}
		for _, s := range f[11 : 11+n] {
			v, _ := strconv.ParseInt(s, 10, 64)
			sum += v
		}
		return sum
	}
	total := ticks(c.proc.Pid, true)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		if ppid, _ := strconv.Atoi(f[1]); ppid == c.proc.Pid {
			total += ticks(pid, false)
		}
	}
	// USER_HZ is 100 on every Linux this runs on.
	return time.Duration(total) * 10 * time.Millisecond
}
