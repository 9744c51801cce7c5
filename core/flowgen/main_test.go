package flowgen

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// udpSink counts the datagrams arriving on a loopback socket per source.
type udpSink struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  map[netip.Addr]int
	n    int
	more chan struct{}
	done chan struct{}
}

func newUDPSink(t *testing.T) *udpSink {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	s := &udpSink{conn: c, got: map[netip.Addr]int{}, more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 65536)
		for {
			_, src, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.got[src.Addr().Unmap()]++
			s.n++
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-s.done })
	return s
}

// waitFor waits until n datagrams arrived. Loopback delivers every datagram
// into the 4 MiB buffer, so this ends; the test has no time limit of its own.
func (s *udpSink) waitFor(t *testing.T, n int) map[netip.Addr]int {
	t.Helper()
	for {
		s.mu.Lock()
		have := s.n
		s.mu.Unlock()
		if have >= n {
			break
		}
		<-s.more
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[netip.Addr]int{}
	for k, v := range s.got {
		out[k] = v
	}
	return out
}

func wantPerSource(tr *Truth) (map[netip.Addr]int, map[netip.Addr]int, int) {
	nf, sf := map[netip.Addr]int{}, map[netip.Addr]int{}
	total := 0
	for _, e := range tr.Exporters {
		n := int(e.PacketsSent + e.MalformedSent)
		if e.Protocol == ProtoSFlow {
			sf[e.Source] += n
		} else {
			nf[e.Source] += n
		}
		total += n
	}
	return nf, sf, total
}

func TestMainSendsFromExporterAddresses(t *testing.T) {
	dir := t.TempDir()
	nf, sf := newUDPSink(t), newUDPSink(t)
	common := []string{"-seed", "5", "-malformed", "0.05", "-exporters", "6", "-no-rate-exporter", "1"}
	args := append([]string{
		"-flows", "3000", "-rate", "50000",
		"-target", nf.conn.LocalAddr().String(), "-sflow-target", sf.conn.LocalAddr().String(),
		"-truth", filepath.Join(dir, "truth.json"), "-write-config", filepath.Join(dir, "exporters.hcl"),
	}, common...)
	var stdout, stderr bytes.Buffer
	if err := Main(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("Main: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "3000 flow records") {
		t.Errorf("stdout: %q", stdout.String())
	}
	tr, err := ReadTruth(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantNF, wantSF, total := wantPerSource(tr)
	if total == 0 {
		t.Fatal("truth lists no datagrams")
	}
	gotNF := nf.waitFor(t, total-sum(wantSF))
	gotSF := sf.waitFor(t, sum(wantSF))
	if d := cmp.Diff(gotNF, wantNF, addrCmp); d != "" {
		t.Errorf("netflow datagrams per source (-got +want):\n%s", d)
	}
	if d := cmp.Diff(gotSF, wantSF, addrCmp); d != "" {
		t.Errorf("sflow datagrams per source (-got +want):\n%s", d)
	}
	if gotSF[netip.MustParseAddr("127.0.0.200")] == 0 {
		t.Errorf("no sFlow datagram from 127.0.0.200: %v", gotSF)
	}
	var flows uint64
	for _, e := range tr.Exporters {
		flows += e.FlowsSent
	}
	if flows != 3000 {
		t.Errorf("truth: %d flows sent, want 3000", flows)
	}

	cfg, err := os.ReadFile(filepath.Join(dir, "exporters.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`exporter "gen5"`, `address = "127.0.0.11"`, "sampling_rate = 2000", `records = "both"`, "local_asn = 64500", `role    = "pni"`} {
		if !bytes.Contains(cfg, []byte(want)) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}

	// A dry run of the same scenario has the same truth.
	dry := append([]string{"-count-only", "-flows", "3000", "-truth", filepath.Join(dir, "dry.json")}, common...)
	if err := Main(context.Background(), dry, &stdout, &stderr); err != nil {
		t.Fatalf("Main -count-only: %v", err)
	}
	drytr, err := ReadTruth(filepath.Join(dir, "dry.json"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(drytr, tr, addrCmp); d != "" {
		t.Errorf("dry run truth (-got +want):\n%s", d)
	}
}

func sum(m map[netip.Addr]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func TestMainDurationAndCancel(t *testing.T) {
	dir := t.TempDir()
	nf, sf := newUDPSink(t), newUDPSink(t)
	targets := []string{"-target", nf.conn.LocalAddr().String(), "-sflow-target", sf.conn.LocalAddr().String()}

	// -duration: whatever was sent by then is in the truth.
	path := filepath.Join(dir, "d.json")
	args := append([]string{"-duration", "200ms", "-rate", "5000", "-truth", path}, targets...)
	if err := Main(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	tr, err := ReadTruth(path)
	if err != nil {
		t.Fatal(err)
	}
	wantNF, wantSF, _ := wantPerSource(tr)
	if sum(wantNF) == 0 || sum(wantSF) == 0 {
		t.Fatalf("nothing sent in 200ms: %v %v", wantNF, wantSF)
	}
	if d := cmp.Diff(nf.waitFor(t, sum(wantNF)), wantNF, addrCmp); d != "" {
		t.Errorf("netflow (-got +want):\n%s", d)
	}
	if d := cmp.Diff(sf.waitFor(t, sum(wantSF)), wantSF, addrCmp); d != "" {
		t.Errorf("sflow (-got +want):\n%s", d)
	}

	// No limit: runs until its context ends, then writes the truth.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	path2 := filepath.Join(dir, "c.json")
	go func() {
		errc <- Main(ctx, append([]string{"-rate", "2000", "-truth", path2}, targets...), &bytes.Buffer{}, &bytes.Buffer{})
	}()
	nf.waitFor(t, sum(wantNF)+10) // it is sending
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTruth(path2); err != nil {
		t.Fatalf("no truth after cancel: %v", err)
	}
}

func TestMainHelp(t *testing.T) {
	var stderr bytes.Buffer
	if err := Main(context.Background(), []string{"-h"}, &bytes.Buffer{}, &stderr); err != nil {
		t.Errorf("Main(-h): %v", err)
	}
	if !strings.Contains(stderr.String(), "-records-per-packet") {
		t.Errorf("usage lacks flags: %q", stderr.String())
	}
}

func TestMainFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-count-only"},
		{"-protocols", "v5,v8", "-count-only", "-flows", "10"},
		{"-sflow-source", "nope"},
		{"-flows", "-1"},
		{"extra"},
	} {
		if err := Main(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("Main(%q) succeeded", args)
		} else if errors.Is(err, context.Canceled) {
			t.Errorf("Main(%q): %v", args, err)
		}
	}
}
