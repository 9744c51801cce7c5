package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lastfluss/lastfluss/core/flowgen"
	"github.com/lastfluss/lastfluss/internal/pgtest"
)

// binary is the lastfluss binary built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lastfluss-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "lastfluss")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build lastfluss: %v\n%s", err, out)
		os.Exit(1)
	}
	code := pgtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// dieWithTest makes a started core die with the test binary, even when a
// test panics or times out before its cleanup runs.
var dieWithTest = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// scrape returns the samples of the metrics endpoint by series.
func scrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			m[line[:i]] = v
		}
	}
	return m, sc.Err()
}

// TestRunReceivesEveryProtocol runs the built binary on loopback, sends
// every protocol with `lastfluss flowgen` and reads the counters back from
// the metrics endpoint.
func TestRunReceivesEveryProtocol(t *testing.T) {
	dir := t.TempDir()
	nf, sf, mp := freePort(t, "udp"), freePort(t, "udp"), freePort(t, "tcp")
	gen := []string{"flowgen", "-exporters", "6", "-malformed", "0.03", "-no-rate-exporter", "1",
		"-target", fmt.Sprintf("127.0.0.1:%d", nf), "-sflow-target", fmt.Sprintf("127.0.0.1:%d", sf)}
	exporters := filepath.Join(dir, "exporters.hcl")
	if out, err := exec.Command(binary, append(gen, "-count-only", "-flows", "1", "-write-config", exporters)...).CombinedOutput(); err != nil {
		t.Fatalf("flowgen -write-config: %v\n%s", err, out)
	}
	blocks, err := os.ReadFile(exporters)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "lastfluss.hcl")
	src := fmt.Sprintf(`
collector_id = "e2e"
interval     = "2s"
state_dir    = "var"
plugin_dir   = "plugins"
listen "netflow" {
  address = "127.0.0.1:%d"
  workers = 2
}
listen "sflow" {
  address = "127.0.0.1:%d"
}
metrics {
  address = "127.0.0.1:%d"
}
%s`, nf, sf, mp, blocks)
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, "check", "-config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}

	stderr := new(logBuffer)
	run := exec.Command(binary, "run", "-config", cfg)
	run.Stderr = stderr
	run.SysProcAttr = dieWithTest
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer run.Process.Kill()
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", mp)
	for {
		if _, err := scrape(url); err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("lastfluss exited: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}

	truthPath := filepath.Join(dir, "truth.json")
	out, err := exec.CommandContext(context.Background(), binary, append(gen, "-flows", "40000", "-rate", "40000", "-truth", truthPath)...).CombinedOutput()
	if err != nil {
		t.Fatalf("flowgen: %v\n%s", err, out)
	}
	truth, err := flowgen.ReadTruth(truthPath)
	if err != nil {
		t.Fatal(err)
	}

	// Wait until every flow sent is counted; loopback loses nothing at this
	// rate, so a mismatch shows as a hung test with the last values logged.
	var m map[string]float64
	for {
		if m, err = scrape(url); err != nil {
			t.Fatal(err)
		}
		done := true
		for _, e := range truth.Exporters {
			if m[fmt.Sprintf(`lastfluss_flows_received_total{exporter=%q}`, e.Name)] < float64(e.FlowsSent) {
				done = false
			}
		}
		if done {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var malformed uint64
	for _, e := range truth.Exporters {
		series := fmt.Sprintf(`lastfluss_flows_received_total{exporter=%q}`, e.Name)
		if m[series] != float64(e.FlowsSent) {
			t.Errorf("%s = %v, want %d", series, m[series], e.FlowsSent)
		}
		series = fmt.Sprintf(`lastfluss_packets_received_total{exporter=%q}`, e.Name)
		if m[series] < float64(e.PacketsSent) {
			t.Errorf("%s = %v, want at least %d", series, m[series], e.PacketsSent)
		}
		malformed += e.MalformedSent
	}
	var decodeErrors float64
	for k, v := range m {
		if strings.HasPrefix(k, "lastfluss_decode_errors_total{") {
			decodeErrors += v
		}
	}
	if malformed == 0 || decodeErrors == 0 {
		t.Errorf("malformed sent %d, decode errors counted %v: want both > 0", malformed, decodeErrors)
	}
	for _, name := range []string{"lastfluss_socket_drops_total", "lastfluss_receive_buffer_bytes"} {
		if _, ok := m[fmt.Sprintf(`%s{listener="netflow 127.0.0.1:%d"}`, name, nf)]; !ok {
			t.Errorf("metric %s missing for the netflow listener", name)
		}
	}

	if err := run.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("lastfluss run after SIGTERM: %v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "var", "templates.json")); err != nil {
		t.Errorf("templates not saved in state_dir: %v", err)
	}
}

func TestCheckReportsEveryError(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "broken.hcl")
	src := `interval = "7m"
exporter "a" {
  address = "192.0.2.300"
  interface "x" {
    ifindex = 1
    role    = "uplink"
  }
}
`
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "check", "-config", cfg).CombinedOutput()
	if err == nil {
		t.Fatalf("check accepted a broken config:\n%s", out)
	}
	for _, want := range []string{"broken.hcl line 1:", "broken.hcl line 3,", "broken.hcl line 6,", `"7m"`, "192.0.2.300", "uplink"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}
