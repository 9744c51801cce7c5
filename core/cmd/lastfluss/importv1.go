package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lastfluss/lastfluss/core/importv1"
)

// importV1 prints the lastfluss.hcl equivalent to the first Lastfluss's
// settings.yaml and interfaces.yaml.
func importV1(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import-v1", flag.ContinueOnError)
	fs.SetOutput(stderr)
	settings := fs.String("settings", "settings.yaml", "the first Lastfluss's settings `file`")
	interfaces := fs.String("interfaces", "interfaces.yaml", "the first Lastfluss's interfaces `file`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lastfluss import-v1 [-settings settings.yaml] [-interfaces interfaces.yaml] > lastfluss.hcl")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("import-v1: unexpected argument %q", fs.Arg(0))
	}
	s, err := os.ReadFile(*settings)
	if err != nil {
		return fmt.Errorf("import-v1: %w", err)
	}
	i, err := os.ReadFile(*interfaces)
	if err != nil {
		return fmt.Errorf("import-v1: %w", err)
	}
	out, err := importv1.Convert(ctx, s, i, importv1.Options{})
	if err != nil {
		return fmt.Errorf("import-v1: %w", err)
	}
	_, err = stdout.Write(out)
	return err
}
