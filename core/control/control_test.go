package control

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/classify"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/sdk/proto"
)

const testConfig = `
collector_id = "test"
interval     = "1m"
listen "netflow" {
  address = "127.0.0.1:0"
  workers = 2
}
exporter "edge1" {
  address = "192.0.2.1"
  interface "transit" {
    ifindex  = 531
    role     = "transit"
    peer_asn = 174
    speed    = "100G"
  }
  interface "ix" {
    ifindex = 612
    role    = "ix"
  }
}
exporter "edge2" {
  address = "192.0.2.2"
  interface "pni" {
    ifindex = 7
    role    = "pni"
  }
}
`

// names is an AS-name table, as the dispatcher keeps one.
type names map[uint32]aggregate.ASInfo

func (n names) ASName(asn uint32) (aggregate.ASInfo, bool) {
	i, ok := n[asn]
	return i, ok
}

type fixture struct {
	srv    *Server
	cfg    *config.Config
	reg    *aggregate.Registry
	table  *atomic.Pointer[classify.Table]
	socket string
	client proto.ControlClient
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	cfg, diags := config.Parse([]byte(testConfig), filepath.Join(dir, "lastfluss.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	f := &fixture{cfg: cfg, reg: aggregate.NewRegistry(), table: new(atomic.Pointer[classify.Table])}
	f.table.Store(classify.NewTable(cfg, f.reg, nil))
	f.socket = filepath.Join(dir, "run", "lastfluss.sock")
	ccfg := DefaultConfiguration()
	ccfg.Socket = f.socket
	ccfg.Version = "v9.9.9"
	var err error
	f.srv, err = New(slog.New(slog.DiscardHandler), ccfg, Dependencies{
		Config:   cfg,
		Registry: f.reg,
		Table:    f.table,
		Names:    names{174: {Name: "COGENT-174"}, 3320: {Name: "DTAG"}, 15169: {Name: "GOOGLE"}},
		Unclassified: func() (time.Time, []aggregate.Unclassified) {
			return time.Unix(1_800_000_000, 0), []aggregate.Unclassified{{Exporter: "edge1", IfIndex: 99, Bytes: 5000, Flows: 3}}
		},
		Incarnation: "abcd1234",
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) start(t *testing.T) {
	t.Helper()
	if err := f.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.srv.Stop)
	conn, err := grpc.NewClient("unix://"+f.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f.client = proto.NewControlClient(conn)
}

// iface returns the registry id of a declared interface.
func (f *fixture) iface(t testing.TB, exporter, name string) uint32 {
	t.Helper()
	for _, e := range f.cfg.Exporters {
		for _, i := range e.Interfaces {
			if e.Name == exporter && i.Name == name {
				return f.reg.Interface(aggregate.Interface{Exporter: e.Name, Name: i.Name, Role: i.Role,
					IfIndex: i.IfIndex, PeerASN: i.PeerASN, Description: i.Description})
			}
		}
	}
	t.Fatalf("no interface %s/%s", exporter, name)
	return 0
}

// waitWatching waits until the tap is switched to want.
func (f *fixture) waitWatching(want bool) {
	for f.srv.Tap().Watching.Load() != want {
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStatus(t *testing.T) {
	f := newFixture(t)
	f.start(t)
	for _, e := range f.table.Load().Exporters() {
		if e.Name == "edge1" {
			e.Counters.Packets.Add(10)
			e.Counters.Flows.Add(300)
			e.Counters.Unclassified.Add(7)
			e.Counters.SamplingAssumed.Add(2)
		}
	}
	got, err := f.client.Status(context.Background(), &proto.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got.UptimeMs < 0 || got.StartedUnixMs == 0 {
		t.Errorf("uptime %d, started %d", got.UptimeMs, got.StartedUnixMs)
	}
	want := &proto.StatusResponse{
		CollectorId: "test",
		Version:     "v9.9.9",
		IntervalMs:  60_000,
		Incarnation: "abcd1234",
		Exporters: []*proto.ExporterStatus{
			{Name: "edge1", Address: "192.0.2.1", Packets: 10, Flows: 300, Unclassified: 7, SamplingAssumed: 2,
				Interfaces: []*proto.InterfaceInfo{
					{Exporter: "edge1", Name: "transit", Ifindex: 531, Role: "transit", PeerAsn: 174, Speed: 100e9},
					{Exporter: "edge1", Name: "ix", Ifindex: 612, Role: "ix"},
				}},
			{Name: "edge2", Address: "192.0.2.2", Interfaces: []*proto.InterfaceInfo{
				{Exporter: "edge2", Name: "pni", Ifindex: 7, Role: "pni"},
			}},
		},
		Listeners:                       []*proto.ListenerStatus{{Protocol: "netflow", Address: "127.0.0.1:0", Workers: 2}},
		Unclassified:                    []*proto.UnclassifiedTraffic{{Exporter: "edge1", Ifindex: 99, Bytes: 5000, Flows: 3}},
		UnclassifiedIntervalStartUnixMs: 1_800_000_000_000,
	}
	if diff := cmp.Diff(got, want, protocmp.Transform(),
		protocmp.IgnoreFields(&proto.StatusResponse{}, "uptime_ms", "started_unix_ms")); diff != "" {
		t.Errorf("Status (-got +want):\n%s", diff)
	}
}

func TestSocket(t *testing.T) {
	f := newFixture(t)
	// A socket file left by a core that was killed.
	if err := os.MkdirAll(filepath.Dir(f.socket), 0o750); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()

	f.start(t)
	fi, err := os.Stat(f.socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	if _, err := f.client.Status(context.Background(), &proto.StatusRequest{}); err != nil {
		t.Fatalf("Status after removing a stale socket: %v", err)
	}

	// A second core on the same socket is refused, and the first keeps it.
	second := newFixture(t)
	second.srv.cfg.Socket = f.socket
	if err := second.srv.Start(context.Background()); err == nil {
		second.srv.Stop()
		t.Fatal("a second server took the socket of a running one")
	}
	if _, err := f.client.Status(context.Background(), &proto.StatusRequest{}); err != nil {
		t.Fatalf("Status after a refused second server: %v", err)
	}

	// Stop ends live streams and removes the socket file.
	stream, err := f.client.Live(context.Background(), &proto.LiveRequest{})
	if err != nil {
		t.Fatal(err)
	}
	f.waitWatching(true)
	f.srv.Stop()
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
	if f.srv.Tap().Watching.Load() {
		t.Error("still watching after Stop")
	}
	if _, err := os.Lstat(f.socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after Stop: %v", err)
	}
	f.srv.Stop() // twice is harmless
}

func TestLive(t *testing.T) {
	f := newFixture(t)
	f.start(t)
	if f.srv.Tap().Watching.Load() {
		t.Fatal("watching before any client")
	}
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := f.client.Live(ctx, &proto.LiveRequest{Top: 2})
	if err != nil {
		t.Fatal(err)
	}
	f.waitWatching(true)

	transit, ix := f.iface(t, "edge1", "transit"), f.iface(t, "edge1", "ix")
	m := f.srv.Tap().Merger
	w := m.AddWorker()
	// A second well after the client came: complete, so it is sent.
	start := time.Now().Unix() + 100
	s := m.NewShard(time.Unix(start, 0))
	add := func(iface uint32, dir aggregate.Direction, remote, local uint32, ipv uint8, bytes uint64) {
		s.Add(aggregate.Key{Interface: iface, Direction: dir, RemoteASN: remote, LocalASN: local, IPVersion: ipv},
			aggregate.Values{Bytes: bytes, Packets: bytes / 100, Flows: 1})
	}
	add(transit, aggregate.In, 3320, 64500, 4, 1000)
	add(transit, aggregate.In, 3320, 64500, 6, 500) // folded with the IPv4 row
	add(transit, aggregate.In, 3320, 64501, 4, 100) // and the other local ASN
	add(transit, aggregate.In, 15169, 64500, 4, 1200)
	add(transit, aggregate.In, 2914, 64500, 4, 300) // beyond top 2: in the total only
	add(transit, aggregate.Out, 15169, 64500, 4, 4000)
	add(ix, aggregate.Out, 6939, 64500, 6, 800)
	m.Hand(w, s)

	var got *proto.LiveUpdate
	for {
		u, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if u.SecondUnixMs == start*1000 {
			got = u
			break
		}
	}
	zero := &proto.LiveDirection{}
	want := &proto.LiveUpdate{
		SecondUnixMs: start * 1000,
		Interfaces: []*proto.LiveInterface{
			{
				Info: &proto.InterfaceInfo{Exporter: "edge1", Name: "transit", Ifindex: 531, Role: "transit", PeerAsn: 174, Speed: 100e9},
				In: &proto.LiveDirection{Bytes: 3100, Packets: 31, Flows: 5, Rows: []*proto.LiveRow{
					{RemoteAsn: 3320, Bytes: 1600, Packets: 16, Flows: 3},
					{RemoteAsn: 15169, Bytes: 1200, Packets: 12, Flows: 1},
				}},
				Out: &proto.LiveDirection{Bytes: 4000, Packets: 40, Flows: 1, Rows: []*proto.LiveRow{
					{RemoteAsn: 15169, Bytes: 4000, Packets: 40, Flows: 1},
				}},
			},
			{
				Info: &proto.InterfaceInfo{Exporter: "edge1", Name: "ix", Ifindex: 612, Role: "ix"},
				In:   zero,
				Out: &proto.LiveDirection{Bytes: 800, Packets: 8, Flows: 1, Rows: []*proto.LiveRow{
					{RemoteAsn: 6939, Bytes: 800, Packets: 8, Flows: 1},
				}},
			},
			{Info: &proto.InterfaceInfo{Exporter: "edge2", Name: "pni", Ifindex: 7, Role: "pni"}, In: zero, Out: zero},
		},
		AsNames: map[uint32]string{174: "COGENT-174", 3320: "DTAG", 15169: "GOOGLE"},
	}
	if diff := cmp.Diff(got, want, protocmp.Transform()); diff != "" {
		t.Errorf("live update (-got +want):\n%s", diff)
	}

	// A partial second (a worker stopping) is not shown as if complete.
	for i, partial := range []bool{true, false} {
		s := m.NewShard(time.Unix(start+1+int64(i), 0))
		s.Partial = partial
		add := func(iface uint32, dir aggregate.Direction, remote uint32, bytes uint64) {
			s.Add(aggregate.Key{Interface: iface, Direction: dir, RemoteASN: remote, IPVersion: 4}, aggregate.Values{Bytes: bytes})
		}
		add(transit, aggregate.In, 3320, 10)
		m.Hand(w, s)
	}
	u, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if u.SecondUnixMs != (start+2)*1000 {
		t.Errorf("after second %d came %d, want %d (the partial one skipped)", start, u.SecondUnixMs/1000, start+2)
	}

	cancel()
	f.waitWatching(false)
}

// TestLiveIdle: with no traffic a client still hears every second, with
// zeros, rather than keep showing the last busy one.
func TestLiveIdle(t *testing.T) {
	f := newFixture(t)
	f.start(t)
	stream, err := f.client.Live(context.Background(), &proto.LiveRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var prev int64
	for range 2 {
		u, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if u.SecondUnixMs <= prev {
			t.Errorf("second %d after %d", u.SecondUnixMs, prev)
		}
		prev = u.SecondUnixMs
		if len(u.Interfaces) != 3 {
			t.Fatalf("%d interfaces in an idle update, want 3", len(u.Interfaces))
		}
		for _, i := range u.Interfaces {
			if i.In.Bytes != 0 || i.Out.Bytes != 0 {
				t.Errorf("idle update with traffic on %s", i.Info.Name)
			}
		}
	}
}

// TestLiveSlowClient: a client that does not read makes its updates drop,
// counted, and never blocks the merger (Hand runs on a collector worker).
func TestLiveSlowClient(t *testing.T) {
	f := newFixture(t)
	f.start(t)
	stream, err := f.client.Live(context.Background(), &proto.LiveRequest{Top: 1000})
	if err != nil {
		t.Fatal(err)
	}
	f.waitWatching(true)
	transit := f.iface(t, "edge1", "transit")
	m := f.srv.Tap().Merger
	w := m.AddWorker()
	first := time.Now().Unix() + 100
	const seconds = 3000
	for i := range int64(seconds) {
		s := m.NewShard(time.Unix(first+i, 0))
		// Many rows, so gRPC's flow control window fills quickly.
		for asn := range uint32(200) {
			s.Add(aggregate.Key{Interface: transit, RemoteASN: 1000 + asn, IPVersion: 4}, aggregate.Values{Bytes: 1})
		}
		m.Hand(w, s) // must not wait for the client
	}
	// Every second is either received or counted as dropped: the loop ends
	// once they add up (a second lost uncounted would hang it).
	var got, reported uint64
	for got+uint64(testutil.ToFloat64(f.srv.metrics.dropped)) != seconds {
		u, err := stream.Recv()
		if err == io.EOF {
			t.Fatal("stream ended")
		}
		if err != nil {
			t.Fatal(err)
		}
		if u.SecondUnixMs >= first*1000 {
			got++
		}
		reported = u.Dropped
	}
	if got == 0 || got == seconds {
		t.Errorf("received %d of %d seconds: want some received and some dropped", got, seconds)
	}
	if reported == 0 {
		t.Error("the updates after a drop do not tell the client")
	}
}
