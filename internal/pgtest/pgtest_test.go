package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		child()
		return
	}
	Main(m)
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestNewDBIsFreshAndPrivate(t *testing.T) {
	ctx := context.Background()
	a, b := NewDB(t), NewDB(t)
	if a == b {
		t.Fatalf("two NewDB calls returned the same DSN %s", a)
	}
	ca, cb := connect(t, a), connect(t, b)
	if _, err := ca.Exec(ctx, "CREATE TABLE x (v int); INSERT INTO x VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := cb.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("second database has %d tables, want 0", n)
	}
}

func TestDatabaseDroppedAtCleanup(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		cfg, err := pgx.ParseConfig(NewDB(t))
		if err != nil {
			t.Fatal(err)
		}
		name = cfg.Database
	})
	var exists bool
	err := Admin(t).QueryRow(context.Background(),
		"SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestServerSettings(t *testing.T) {
	conn := connect(t, NewDB(t))
	got := map[string]string{}
	for _, name := range []string{"fsync", "full_page_writes", "synchronous_commit", "listen_addresses"} {
		var v string
		if err := conn.QueryRow(context.Background(), "SELECT current_setting($1)", name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		got[name] = v
	}
	want := map[string]string{
		"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off",
		"listen_addresses": "127.0.0.1",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("settings (-got +want):\n%s", diff)
	}
	var sock string
	if err := conn.QueryRow(context.Background(), "SELECT current_setting('unix_socket_directories')").Scan(&sock); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sock, shared.Dir) {
		t.Errorf("socket directory %s is not inside the cluster directory %s", sock, shared.Dir)
	}
}

func TestServerNotRoot(t *testing.T) {
	st, err := os.Stat(filepath.Join(cluster(t).Dir, "data", "PG_VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	uid := st.Sys().(*syscall.Stat_t).Uid
	want := uint32(os.Geteuid())
	if want == 0 {
		cred, err := serverCredential()
		if err != nil {
			t.Fatal(err)
		}
		want = cred.Uid
	}
	if uid != want {
		t.Errorf("data directory owned by uid %d, want %d", uid, want)
	}
	if uid == 0 {
		t.Errorf("data directory owned by root")
	}
}

func TestKillConnections(t *testing.T) {
	ctx := context.Background()
	dsn := NewDB(t)
	conn := connect(t, dsn)
	other := connect(t, NewDB(t))
	if n := KillConnections(t, dsn); n != 1 {
		t.Errorf("KillConnections ended %d connections, want 1", n)
	}
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Errorf("query on a killed connection succeeded")
	}
	if _, err := other.Exec(ctx, "SELECT 1"); err != nil {
		t.Errorf("a connection to another database was killed: %v", err)
	}
}

func TestDBName(t *testing.T) {
	long := strings.Repeat("Abc/Def-", 20)
	for _, test := range []string{"TestX", "TestX/sub case #1", long} {
		name := dbName(test)
		if len(name) > 63 {
			t.Errorf("dbName(%q) = %q: longer than 63 bytes", test, name)
		}
		if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("dbName(%q) = %q: unsafe characters", test, name)
		}
	}
	if dbName("TestX") == dbName("TestX") {
		t.Errorf("dbName returns the same name twice")
	}
}

// TestServerDiesWithTestProcess kills a test process that started a cluster
// and checks that its server goes away, and that the next start removes the
// directory it left.
func TestServerDiesWithTestProcess(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PGTEST_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("read child's report: %v", err)
	}
	var pid int
	var dir string
	if _, err := fmt.Sscanf(line, "%d %s", &pid, &dir); err != nil {
		t.Fatalf("child's report %q: %v", line, err)
	}
	if !alive(pid) {
		t.Fatalf("postmaster %d not running while its test process lives", pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	for alive(pid) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("expected the dead process's directory %s to be left behind: %v", dir, err)
	}
	removeStale(filepath.Dir(dir))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale directory %s not removed: %v", dir, err)
	}
	// Our own live cluster must survive the clean-up.
	if _, err := os.Stat(cluster(t).Dir); err != nil {
		t.Errorf("live cluster directory removed: %v", err)
	}
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

// child starts a cluster, reports its postmaster pid and directory, and
// waits to be killed.
func child() {
	c, err := Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d %s\n", c.proc.Pid, c.Dir)
	time.Sleep(time.Hour)
}

func TestServerCPU(t *testing.T) {
	conn := connect(t, NewDB(t))
	before := ServerCPU(t)
	// Some hundreds of milliseconds of work in a backend.
	if _, err := conn.Exec(context.Background(), "SELECT count(*) FROM generate_series(1, 500000) a, LATERAL (SELECT md5(a::text)) m"); err != nil {
		t.Fatal(err)
	}
	if used := ServerCPU(t) - before; used < 20*time.Millisecond {
		t.Errorf("ServerCPU grew by %v over a query that computed 500,000 md5s", used)
	}
}

// TestMissingBinariesFailTheTest runs itself in a child process without
// server binaries: NewDB must fail the test (never skip it) and say what to
// run.
func TestMissingBinariesFailTheTest(t *testing.T) {
	if os.Getenv("PGTEST_CHILD_MISSING") == "1" {
		NewDB(t)
		t.Log("NewDB returned without binaries")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMissingBinariesFailTheTest$", "-test.v")
	cmd.Env = append(os.Environ(), "PGTEST_CHILD_MISSING=1", BinDirEnv+"="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child without binaries: %v, want a failing exit\n%s", err, out)
	}
	for _, want := range []string{"--- FAIL: TestMissingBinariesFailTheTest", "scripts/ensure-postgres.sh"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "SKIP") || strings.Contains(string(out), "NewDB returned") {
		t.Errorf("child went on without binaries:\n%s", out)
	}
}
