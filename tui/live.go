package tui

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lastfluss/lastfluss/sdk/proto"
)

// retryEvery is how often a lost connection to the core is tried again:
// the TUI outlives a restart of the core.
const retryEvery = time.Second

// Top is the number of remote ASNs asked for per interface and direction.
const Top = 50

// Stream follows the core's Live stream and delivers what the model takes:
// an UpdateMsg per second, a ConnMsg when the connection is lost and when it
// is back. It reconnects until ctx ends, then closes the channel.
func Stream(ctx context.Context, client proto.ControlClient, top uint32) <-chan tea.Msg {
	ch := make(chan tea.Msg)
	go func() {
		defer close(ch)
		send := func(msg tea.Msg) bool {
			select {
			case ch <- msg:
				return true
			case <-ctx.Done():
				return false
			}
		}
		lost := false
		for {
			stream, err := client.Live(ctx, &proto.LiveRequest{Top: top})
			for err == nil {
				var u *proto.LiveUpdate
				if u, err = stream.Recv(); err != nil {
					break
				}
				if lost {
					lost = false
					if !send(ConnMsg{}) {
						return
					}
				}
				if !send(UpdateMsg{Update: u}) {
					return
				}
			}
			if ctx.Err() != nil {
				return
			}
			if !lost {
				lost = true
				if !send(ConnMsg{Err: readable(err)}) {
					return
				}
			}
			select {
			case <-time.After(retryEvery):
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// readable says why the stream ended in words for the title line.
func readable(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("the core ended the stream (stopped?)")
	}
	s, ok := status.FromError(err)
	if !ok {
		return err
	}
	if s.Code() == codes.Unavailable {
		// "connection error: desc = "transport: Error while dialing: dial
		// unix …: connect: no such file or directory"": the last part says it.
		msg := strings.Trim(s.Message(), `"`)
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return errors.New("cannot reach the core: " + strings.Trim(msg, `"`))
	}
	return errors.New(s.Message())
}

// Run shows the live view of the core behind client until the user quits
// or ctx ends. address names the core in the title line.
func Run(ctx context.Context, client proto.ControlClient, address string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := New(Options{Source: Stream(ctx, client, Top), Address: address})
	_, err := tea.NewProgram(m, tea.WithContext(ctx)).Run()
	return err
}
