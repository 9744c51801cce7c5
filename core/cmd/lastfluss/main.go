// Command lastfluss is the collector daemon and its tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/core/daemon"
	"github.com/lastfluss/lastfluss/core/flowgen"
	"github.com/lastfluss/lastfluss/core/pluginhost"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: lastfluss <command> [flags]

commands:
  run -config FILE      run the collector
  check -config FILE    validate a configuration and print it as it takes effect
  status [-socket PATH | -config FILE] [-json]
                        print the running collector's status
  tui [-socket PATH | -config FILE]
                        watch the traffic per interface and remote ASN, live
  flowgen [flags]       send generated flows and write the exact expected totals
  version               print the version
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "lastfluss:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "run":
		path, err := configFlag("run", args[1:], stderr)
		if err != nil {
			return err
		}
		daemon.Version = version
		return daemon.Run(ctx, path, stderr)
	case "check":
		path, err := configFlag("check", args[1:], stderr)
		if err != nil {
			return err
		}
		return check(path, stdout, stderr)
	case "status":
		return status(ctx, args[1:], stdout, stderr)
	case "tui":
		return runTUI(ctx, args[1:], stderr)
	case "import-v1":
		return importV1(ctx, args[1:], stdout, stderr)
	case "flowgen":
		return flowgen.Main(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "lastfluss", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func configFlag(name string, args []string, stderr io.Writer) (string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "lastfluss.hcl", "configuration `file`")
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	return *path, nil
}

// check prints the effective configuration, or every error: the core's
// own and those of each plugin's config block, checked against the
// plugin's schema by starting it.
func check(path string, stdout, stderr io.Writer) error {
	loader := config.NewLoader()
	cfg, diags := loader.Load(path)
	if !diags.HasErrors() {
		host, err := pluginhost.New(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			pluginhost.Configuration{PluginDir: cfg.PluginDir, LogLevel: slog.LevelWarn}, nil)
		if err != nil {
			return err
		}
		_, pdiags := host.Check(context.Background(), append(append([]config.Plugin(nil), cfg.Enrich...), cfg.Sinks...))
		host.Close()
		diags = append(diags, pdiags...)
		if !diags.HasErrors() {
			defer func() { _, _ = io.WriteString(stdout, cfg.Effective(host.Sensitive)) }()
		}
	}
	if len(diags) > 0 {
		_ = loader.WriteDiagnostics(stderr, diags)
	}
	if diags.HasErrors() {
		return fmt.Errorf("%s has errors", path)
	}
	return nil
}
