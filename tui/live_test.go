package tui

import (
	"context"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/lastfluss/lastfluss/sdk/proto"
)

// restartingCore serves Live on a real unix socket the way a core that
// restarts once does: two seconds, the stream breaks, then one more.
type restartingCore struct {
	proto.UnimplementedControlServer
	calls atomic.Int32
	top   atomic.Uint32
}

func (c *restartingCore) Live(req *proto.LiveRequest, stream grpc.ServerStreamingServer[proto.LiveUpdate]) error {
	c.top.Store(req.GetTop())
	if c.calls.Add(1) == 1 {
		for _, s := range []int64{1, 2} {
			if err := stream.Send(&proto.LiveUpdate{SecondUnixMs: s * 1000}); err != nil {
				return err
			}
		}
		return status.Error(codes.Unavailable, "core restarting")
	}
	if err := stream.Send(&proto.LiveUpdate{SecondUnixMs: 3000}); err != nil {
		return err
	}
	<-stream.Context().Done()
	return nil
}

func TestStream(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "lastfluss.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	core := new(restartingCore)
	srv := grpc.NewServer()
	proto.RegisterControlServer(srv, core)
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	ctx, cancel := context.WithCancel(context.Background())
	ch := Stream(ctx, proto.NewControlClient(conn), 7)
	var got []string
	describe := func(msg tea.Msg) string {
		switch msg := msg.(type) {
		case UpdateMsg:
			return "second " + string(rune('0'+msg.Update.GetSecondUnixMs()/1000))
		case ConnMsg:
			if msg.Err != nil {
				return "lost: " + msg.Err.Error()
			}
			return "back"
		}
		return "?"
	}
	for range 5 {
		got = append(got, describe(<-ch))
	}
	want := []string{"second 1", "second 2", "lost: cannot reach the core: core restarting", "back", "second 3"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("messages (-got +want):\n%s", diff)
	}
	if core.top.Load() != 7 {
		t.Errorf("asked for top %d, want 7", core.top.Load())
	}
	cancel()
	for range ch {
	}

	// No core at all: said plainly.
	none, err := grpc.NewClient("unix://"+filepath.Join(t.TempDir(), "none.sock"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	if got := describe(<-Stream(ctx, proto.NewControlClient(none), 7)); got != "lost: cannot reach the core: no such file or directory" {
		t.Errorf("without a core: %q", got)
	}
}
