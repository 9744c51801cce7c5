package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lastfluss/lastfluss/core/flowgen"
)

// pluginDir holds the plugins the end-to-end tests run, built once.
var pluginDir string

func buildPlugins(t *testing.T) string {
	t.Helper()
	if pluginDir != "" {
		return pluginDir
	}
	dir := filepath.Join(filepath.Dir(binary), "plugins")
	for name, pkg := range map[string]string{
		"sink-jsonl":    "../../../examples/custom-sink",
		"sink-postgres": "../../../plugins/sink-postgres",
		"enrich-asname": "../../../plugins/enrich-asname",
	} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "lastfluss-"+name), pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	pluginDir = dir
	return dir
}

// core is a running `lastfluss run`.
type core struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once Wait returned
	stderr  *logBuffer
	metrics string
}

// logBuffer collects a child's stderr, which the test reads while the
// child still writes.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type setup struct {
	dir      string
	config   string
	nf, sf   int
	metrics  int
	flowgen  []string // flowgen flags: targets and scenario
	jsonl    string   // the sink's output
	interval string
}

// newSetup writes a configuration with the JSON-lines sink and the
// exporters of the flowgen scenario given by gen.
func newSetup(t *testing.T, interval, jsonl string, gen ...string) *setup {
	t.Helper()
	s := &setup{dir: t.TempDir(), nf: freePort(t, "udp"), sf: freePort(t, "udp"), metrics: freePort(t, "tcp"), interval: interval}
	if jsonl == "" {
		jsonl = filepath.Join(s.dir, "out.jsonl")
	}
	s.jsonl = jsonl
	s.flowgen = append([]string{"flowgen", "-target", fmt.Sprintf("127.0.0.1:%d", s.nf), "-sflow-target", fmt.Sprintf("127.0.0.1:%d", s.sf)}, gen...)
	exporters := filepath.Join(s.dir, "exporters.hcl")
	if out, err := exec.Command(binary, append(s.flowgen, "-count-only", "-flows", "1", "-write-config", exporters)...).CombinedOutput(); err != nil {
		t.Fatalf("flowgen -write-config: %v\n%s", err, out)
	}
	blocks, err := os.ReadFile(exporters)
	if err != nil {
		t.Fatal(err)
	}
	s.config = filepath.Join(s.dir, "lastfluss.hcl")
	src := fmt.Sprintf(`
collector_id = "e2e"
interval     = %q
state_dir    = "var"
plugin_dir   = %q
log {
  level = "debug"
}
listen "netflow" {
  address = "127.0.0.1:%d"
  workers = 2
}
listen "sflow" {
  address = "127.0.0.1:%d"
  workers = 2
}
metrics {
  address = "127.0.0.1:%d"
}
sink "file" {
  plugin = "sink-jsonl"
  config {
    path = %q
  }
}
%s`, interval, buildPlugins(t), s.nf, s.sf, s.metrics, jsonl, blocks)
	if err := os.WriteFile(s.config, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *setup) start(t *testing.T) *core {
	t.Helper()
	c := &core{exited: make(chan struct{}), stderr: new(logBuffer), metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", s.metrics)}
	c.cmd = exec.Command(binary, "run", "-config", s.config)
	c.cmd.Stderr = c.stderr
	c.cmd.SysProcAttr = dieWithTest
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.cmd.Process.Kill() })
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	for {
		if _, err := scrape(c.metrics); err == nil {
			return c
		}
		select {
		case <-c.exited:
			t.Fatalf("lastfluss exited:\n%s", c.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (c *core) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	if !c.cmd.ProcessState.Success() {
		t.Fatalf("lastfluss after SIGTERM: %v\n%s", c.cmd.ProcessState, c.stderr)
	}
}

// send runs flowgen and returns its truth.
func (s *setup) send(t *testing.T, args ...string) *flowgen.Truth {
	t.Helper()
	tr, err := s.sendErr(args...)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// sendErr is send for goroutines other than the test's, which must not
// call t.Fatal.
func (s *setup) sendErr(args ...string) (*flowgen.Truth, error) {
	truth := filepath.Join(s.dir, fmt.Sprintf("truth-%d.json", time.Now().UnixNano()))
	out, err := exec.Command(binary, append(append(s.flowgen, args...), "-truth", truth)...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("flowgen: %v\n%s", err, out)
	}
	return flowgen.ReadTruth(truth)
}

// waitFlows waits until the collector has counted every flow sent (several
// sends: sumTruth).
func (c *core) waitFlows(t *testing.T, truth *flowgen.Truth) {
	t.Helper()
	for {
		m, err := scrape(c.metrics)
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for _, e := range truth.Exporters {
			if m[fmt.Sprintf(`lastfluss_flows_received_total{exporter=%q}`, e.Name)] < float64(e.FlowsSent) {
				done = false
			}
		}
		if done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rowKey identifies a row the way the JSON-lines sink names it.
type rowKey struct {
	Exporter, Interface, Direction string
	Remote, Local                  uint32
	IPVersion                      uint8
}

type jsonRow struct {
	BatchID   string  `json:"batch_id"`
	Time      string  `json:"time"`
	Interval  int     `json:"interval_seconds"`
	Exporter  string  `json:"exporter"`
	Interface string  `json:"interface"`
	Role      string  `json:"role"`
	Direction string  `json:"direction"`
	RemoteASN *uint32 `json:"remote_asn"`
	LocalASN  *uint32 `json:"local_asn"`
	IPVersion uint8   `json:"ip_version"`
	Bytes     uint64  `json:"bytes"`
	Packets   uint64  `json:"packets"`
	Flows     uint64  `json:"flows"`
	Other     bool    `json:"other"`
}

// totals sums the JSON-lines output by the truth's key.
func totals(t *testing.T, path string) (map[rowKey]flowgen.Counters, map[string]int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make(map[rowKey]flowgen.Counters)
	batches := make(map[string]int)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r jsonRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		if r.Other || r.RemoteASN == nil || r.LocalASN == nil {
			t.Fatalf("unexpected other row: %s", sc.Text())
		}
		k := rowKey{r.Exporter, r.Interface, r.Direction, *r.RemoteASN, *r.LocalASN, r.IPVersion}
		c := got[k]
		c.Bytes += r.Bytes
		c.Packets += r.Packets
		c.Flows += r.Flows
		got[k] = c
		batches[r.BatchID]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return got, batches
}

func want(truths ...*flowgen.Truth) map[rowKey]flowgen.Counters {
	w := make(map[rowKey]flowgen.Counters)
	for _, tr := range truths {
		for _, r := range tr.Rows {
			k := rowKey{r.Exporter, r.Interface, r.Direction, r.RemoteASN, r.LocalASN, r.IPVersion}
			c := w[k]
			c.Bytes += r.Bytes
			c.Packets += r.Packets
			c.Flows += r.Flows
			w[k] = c
		}
	}
	return w
}

func compareTotals(t *testing.T, path string, truths ...*flowgen.Truth) map[string]int {
	t.Helper()
	got, batches := totals(t, path)
	if diff := cmp.Diff(got, want(truths...)); diff != "" {
		t.Errorf("totals per exporter, interface, direction and ASN in %s (-got +want):\n%s", path, diff)
	}
	return batches
}

// TestDeliversExactTotals: every protocol from several exporters, with
// sampling and malformed datagrams, through the core and the JSON-lines
// sink plugin; after SIGTERM the file holds exactly flowgen's truth.
func TestDeliversExactTotals(t *testing.T) {
	s := newSetup(t, "2s", "", "-exporters", "8", "-malformed", "0.03", "-no-rate-exporter", "1")
	c := s.start(t)
	truth := s.send(t, "-flows", "60000", "-rate", "30000")
	c.waitFlows(t, truth)
	c.stop(t)
	batches := compareTotals(t, s.jsonl, truth)
	if len(batches) < 2 {
		t.Errorf("%d batches; a 2s interval over 2s of sending should close several", len(batches))
	}
	for id := range batches {
		if !strings.HasPrefix(id, "e2e/") || strings.Count(id, "/") != 3 {
			t.Errorf("batch id %q is not <collector_id>/<start>/<incarnation>/<seq>", id)
		}
	}
}

// TestSinkKilledMidBatch kills the sink plugin with SIGKILL while it writes
// a large batch: the host restarts it, the batch is redelivered, and the
// totals are still exact.
func TestSinkKilledMidBatch(t *testing.T) {
	s := newSetup(t, "3s", "", "-exporters", "4", "-asns", "60000", "-malformed", "0")
	c := s.start(t)

	// Send until a batch is caught in the middle of its write: the first
	// moment the output holds rows that the ledger does not commit yet.
	// One round of sending crosses an interval boundary, so it nearly
	// always catches one; another round is sent when it did not.
	type sent struct {
		truth *flowgen.Truth
		err   error
	}
	var truths []*flowgen.Truth
	killed := false
	for round := 1; !killed; round++ {
		if round > 3 {
			t.Fatal("no batch was caught in the middle of its write in 3 rounds of sending; make the batches bigger")
		}
		done := make(chan sent, 1)
		go func() {
			tr, err := s.sendErr("-flows", "400000", "-rate", "100000", "-seed", strconv.Itoa(6+round))
			done <- sent{tr, err}
		}()
		var r sent
		for waiting := true; waiting; {
			if !killed && size(s.jsonl) > committedSize(t, s.jsonl+".ledger") {
				pid := pluginPID(t, c.cmd.Process.Pid, "lastfluss-sink-jsonl")
				if pid != 0 && syscall.Kill(pid, syscall.SIGKILL) == nil {
					killed = true
				}
			}
			select {
			case r = <-done:
				waiting = false
			case <-time.After(2 * time.Millisecond):
			}
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
		truths = append(truths, r.truth)
	}
	c.waitFlows(t, sumTruth(truths...))
	c.stop(t)
	compareTotals(t, s.jsonl, truths...)
	if !strings.Contains(c.stderr.String(), "restart") {
		t.Errorf("no plugin restart in the log:\n%s", tail(c.stderr.String(), 40))
	}
}

// TestQueuedBatchesSurviveRestart: the sink's disk is full, so batches stay
// queued; the core is restarted while it is still full; once there is room
// again, the queued batches of both runs are delivered, exactly once.
func TestQueuedBatchesSurviveRestart(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs for the sink (the test needs root): %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })

	s := newSetup(t, "1s", filepath.Join(mnt, "out.jsonl"), "-exporters", "4", "-malformed", "0")
	c := s.start(t)
	first := s.send(t, "-flows", "20000", "-rate", "20000", "-seed", "3")
	c.waitFlows(t, first)
	c.stop(t)
	queued := queueLen(t, s.dir)
	if queued == 0 {
		t.Fatalf("nothing queued after the first run; the sink should have failed on a full disk:\n%s", tail(c.stderr.String(), 30))
	}

	c = s.start(t)
	second := s.send(t, "-flows", "20000", "-rate", "20000", "-seed", "4")
	c.waitFlows(t, second)
	if out, err := exec.Command("mount", "-o", "remount,size=64m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("grow the tmpfs: %v\n%s", err, out)
	}
	// The sink's retries now succeed; the queue drains.
	for queueLen(t, s.dir) > 0 {
		time.Sleep(50 * time.Millisecond)
	}
	c.stop(t)
	compareTotals(t, s.jsonl, first, second)
}

func queueLen(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "var", "queue", "file"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".batch") {
			n++
		}
	}
	return n
}

func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// committedSize is the output size the sink's ledger commits.
func committedSize(t *testing.T, ledger string) int64 {
	t.Helper()
	data, err := os.ReadFile(ledger)
	if err != nil {
		return 0
	}
	var end int64
	for _, line := range strings.Split(string(data), "\n") {
		var e struct {
			End int64 `json:"end"`
		}
		if json.Unmarshal([]byte(line), &e) == nil {
			end = e.End
		}
	}
	return end
}

// pluginPID finds the child of parent running the plugin binary.
func pluginPID(t *testing.T, parent int, name string) int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "("+name[:min(len(name), 15)]) {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(parent) {
			pid, _ := strconv.Atoi(strings.Fields(s)[0])
			return pid
		}
	}
	return 0
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
