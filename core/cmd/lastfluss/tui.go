package main

import (
	"context"
	"errors"
	"flag"
	"io"
)

// runTUI runs the terminal UI against the core's control socket.
func runTUI(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("tui", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolve := socketFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := resolve(); err != nil {
		return err
	}
	return errors.New("tui: not built yet")
}
