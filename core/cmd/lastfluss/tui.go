package main

import (
	"context"
	"errors"
	"flag"
	"io"

	tea "charm.land/bubbletea/v2"

	"github.com/lastfluss/lastfluss/tui"
)

// runTUI runs the terminal UI against the core's control socket.
func runTUI(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("tui", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolve := socketFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	socket, err := resolve()
	if err != nil {
		return err
	}
	conn, client, err := dialControl(socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := tui.Run(ctx, client, socket); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return err
	}
	return nil
}
