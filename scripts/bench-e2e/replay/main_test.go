package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type datagram struct {
	Source  string // address only: the replay binds a fresh port per source
	Payload string
}

// TestRecordThenSend records datagrams from two loopback sources over real
// sockets and replays them to a listener: same bytes, same order, same
// source addresses.
func TestRecordThenSend(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec, err := listenUDP(ctx, "127.0.0.1:0", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	path := filepath.Join(t.TempDir(), "stream")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var recorded uint64
	go func() {
		var err error
		recorded, err = record(ctx, rec, f)
		done <- err
	}()

	var want []datagram
	for i, src := range []string{"127.0.0.10", "127.0.0.11", "127.0.0.10"} {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(src)})
		if err != nil {
			t.Fatal(err)
		}
		payload := fmt.Sprintf("datagram %d from %s", i, src)
		if _, err := c.WriteTo([]byte(payload), rec.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		c.Close()
		want = append(want, datagram{Source: src, Payload: payload})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f.Close()
	if recorded != uint64(len(want)) {
		t.Fatalf("recorded %d datagrams, want %d", recorded, len(want))
	}

	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	res, err := send(in, sink.LocalAddr().(*net.UDPAddr).AddrPort(), 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.sent != uint64(len(want)) || res.errors != 0 {
		t.Fatalf("sent %d with %d errors, want %d sent", res.sent, res.errors, len(want))
	}
	var got []datagram
	buf := make([]byte, 2048)
	for range want {
		n, from, err := sink.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, datagram{Source: from.Addr().String(), Payload: string(buf[:n])})
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("replayed datagrams (-got +want):\n%s", diff)
	}
	if res.elapsed < 20*time.Millisecond {
		t.Errorf("3 datagrams over 30ms took %v: not paced", res.elapsed)
	}
}
