package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/lastfluss/lastfluss/core/flowgen"
	"github.com/lastfluss/lastfluss/sdk/proto"
)

// statusOf runs `lastfluss status -json` and decodes its answer.
func statusOf(t *testing.T, args ...string) *proto.StatusResponse {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"status", "-json"}, args...)...).Output()
	if err != nil {
		t.Fatalf("status -json: %v\n%s", err, out)
	}
	r := new(proto.StatusResponse)
	if err := protojson.Unmarshal(out, r); err != nil {
		t.Fatalf("status -json: %v\n%s", err, out)
	}
	return r
}

// TestStatus runs a core with the JSON-lines sink, sends flows and reads
// them back with `lastfluss status`: counters, the sink's deliveries and
// the traffic on undeclared interfaces.
func TestStatus(t *testing.T) {
	s := newSetup(t, "1s", "", "-exporters", "2", "-malformed", "0")
	socket := filepath.Join(s.dir, "var", "lastfluss.sock")

	// Not running yet: a clear error, not a hang.
	out, err := exec.Command(binary, "status", "-config", s.config).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is lastfluss running?") {
		t.Fatalf("status without a core: %v\n%s", err, out)
	}

	c := s.start(t)
	truth := s.send(t, "-flows", "3000", "-rate", "30000")
	c.waitFlows(t, truth)

	// Wait until an interval with the flows has been delivered.
	var r *proto.StatusResponse
	for {
		r = statusOf(t, "-socket", socket)
		if len(r.Sinks) == 1 && r.Sinks[0].LastDeliveredUnixMs != 0 && len(r.Unclassified) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r.CollectorId != "e2e" || r.IntervalMs != 1000 || r.Version == "" || len(r.Incarnation) != 8 || r.Templates == 0 {
		t.Errorf("status header: collector %q, interval %d ms, version %q, incarnation %q, templates %d",
			r.CollectorId, r.IntervalMs, r.Version, r.Incarnation, r.Templates)
	}
	if len(r.Listeners) != 2 {
		t.Errorf("%d listeners, want 2", len(r.Listeners))
	}
	if len(r.Exporters) != len(truth.Exporters) {
		t.Fatalf("%d exporters, want %d", len(r.Exporters), len(truth.Exporters))
	}
	for i, e := range truth.Exporters {
		got := r.Exporters[i]
		if got.Name != e.Name || got.Address != e.Address.String() || got.Flows != e.FlowsSent ||
			got.Unclassified != e.Unclassified.Flows || len(got.Interfaces) != 4 || got.Packets < e.PacketsSent {
			t.Errorf("exporter %d: got %s %s: %d flows, %d unclassified, %d packets, %d interfaces; want %s %s: %d, %d, >= %d, 4",
				i, got.Name, got.Address, got.Flows, got.Unclassified, got.Packets, len(got.Interfaces),
				e.Name, e.Address, e.FlowsSent, e.Unclassified.Flows, e.PacketsSent)
		}
	}
	if r.Sinks[0].Name != "file" || r.Sinks[0].LastError != "" {
		t.Errorf("sink: %v", r.Sinks[0])
	}
	for _, u := range r.Unclassified {
		if !slices.ContainsFunc(truth.Unclassified, func(tu flowgen.TruthUnclassified) bool {
			return tu.Exporter == u.Exporter && tu.IfIndex == u.Ifindex
		}) {
			t.Errorf("unclassified %s ifIndex %d was never sent", u.Exporter, u.Ifindex)
		}
	}

	// The human-readable form, from the configuration's socket.
	out, err = exec.Command(binary, "status", "-config", s.config).CombinedOutput()
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	text := string(out)
	t.Logf("lastfluss status:\n%s", text)
	for _, e := range truth.Exporters {
		line := regexp.MustCompile(fmt.Sprintf(`(?m)^\s+%s\s+%s\s+4\s+\d+\s+%d\s+%d \(`, e.Name, regexp.QuoteMeta(e.Address.String()), e.FlowsSent, e.Unclassified.Flows))
		if !line.MatchString(text) {
			t.Errorf("no line for exporter %s with %d flows, %d unclassified:\n%s", e.Name, e.FlowsSent, e.Unclassified.Flows, text)
		}
	}
	for _, want := range []string{"collector e2e,", "interval 1s,", "templates known:", "\nsinks\n", "  file ", "0 batches", " ago)", "unclassified in the interval of"} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	c.stop(t)
}

// TestLiveFromCore watches a running core's live view over its socket
// while flowgen sends: every declared interface in each update, rows of
// remote ASNs biggest first, and the tap off again once nobody watches.
func TestLiveFromCore(t *testing.T) {
	s := newSetup(t, "1m", "", "-exporters", "2", "-malformed", "0")
	c := s.start(t)
	conn, client, err := dialControl(filepath.Join(s.dir, "var", "lastfluss.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := client.Live(ctx, &proto.LiveRequest{Top: 3})
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		_ = exec.Command(binary, append(s.flowgen, "-duration", "4s", "-rate", "5000")...).Run()
	}()
	busy := 0
	for busy < 2 {
		u, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(u.Interfaces) != 8 {
			t.Fatalf("%d interfaces in an update, want the 8 declared", len(u.Interfaces))
		}
		var total uint64
		for _, i := range u.Interfaces {
			for _, d := range []*proto.LiveDirection{i.In, i.Out} {
				var sum uint64
				for j, r := range d.Rows {
					sum += r.Bytes
					if j > 0 && r.Bytes > d.Rows[j-1].Bytes {
						t.Errorf("%s/%s: rows not by bytes: %v", i.Info.Exporter, i.Info.Name, d.Rows)
					}
				}
				if len(d.Rows) > 3 || sum > d.Bytes {
					t.Errorf("%s/%s: %d rows adding to %d of %d bytes", i.Info.Exporter, i.Info.Name, len(d.Rows), sum, d.Bytes)
				}
				total += d.Bytes
			}
		}
		if total > 0 {
			busy++
		}
	}
	r := statusOf(t, "-config", s.config)
	if r.LiveClients != 1 {
		t.Errorf("status says %d live clients, want 1", r.LiveClients)
	}
	cancel()
	<-sent
	for statusOf(t, "-config", s.config).LiveClients != 0 {
		time.Sleep(50 * time.Millisecond)
	}
	c.stop(t)
}
