package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/sdk/proto"
)

// statusTimeout bounds the Status call: a core that does not answer within
// it is as good as down for an operator looking.
const statusTimeout = 5 * time.Second

// socketFlags adds -socket and -config to fs; resolve returns the control
// socket: -socket when given, else the one the configuration names.
func socketFlags(fs *flag.FlagSet) (resolve func() (string, error)) {
	socket := fs.String("socket", "", "control socket `path` (default: the one the configuration names)")
	path := fs.String("config", "lastfluss.hcl", "configuration `file` naming the control socket")
	return func() (string, error) {
		if *socket != "" {
			return *socket, nil
		}
		loader := config.NewLoader()
		loader.SkipPluginConfig = true // only the control socket is needed
		cfg, diags := loader.Load(*path)
		if diags.HasErrors() {
			var b strings.Builder
			_ = loader.WriteDiagnostics(&b, diags)
			return "", fmt.Errorf("read the control socket from %s (or give -socket):\n%s", *path, b.String())
		}
		return cfg.Control.Socket, nil
	}
}

// dialControl returns a client of the core's control socket. The
// connection is made at the first call.
func dialControl(socket string) (*grpc.ClientConn, proto.ControlClient, error) {
	abs, err := filepath.Abs(socket)
	if err != nil {
		return nil, nil, err
	}
	conn, err := grpc.NewClient("unix://"+abs, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, fmt.Errorf("control socket %s: %w", socket, err)
	}
	return conn, proto.NewControlClient(conn), nil
}

func status(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolve := socketFlags(fs)
	asJSON := fs.Bool("json", false, "print the status as JSON")
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
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	r, err := client.Status(ctx, &proto.StatusRequest{})
	if err != nil {
		return fmt.Errorf("no answer on %s (is lastfluss running?): %w", socket, err)
	}
	if *asJSON {
		b, err := protojson.MarshalOptions{Multiline: true, EmitUnpopulated: true}.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	return writeStatus(stdout, r, time.Now())
}

// writeStatus prints r for an operator: who is running, what each exporter
// sent, how the sinks keep up, and traffic on undeclared interfaces.
func writeStatus(w io.Writer, r *proto.StatusResponse, now time.Time) error {
	p := &printer{w: w}
	p.printf("lastfluss %s, collector %s, up %s, interval %s, incarnation %s\n",
		r.Version, r.CollectorId, age(time.Duration(r.UptimeMs)*time.Millisecond),
		config.FormatDuration(time.Duration(r.IntervalMs)*time.Millisecond), r.Incarnation)
	var ls []string
	for _, l := range r.Listeners {
		ls = append(ls, fmt.Sprintf("%s %s ×%d", l.Protocol, l.Address, l.Workers))
	}
	p.printf("listening: %s; templates known: %d; live clients: %d\n", orNone(strings.Join(ls, ", ")), r.Templates, r.LiveClients)

	p.printf("\nexporters\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p.tabs(tw, "  name\taddress\tinterfaces\tpackets\tflows\tunclassified\trate assumed\n")
	for _, e := range r.Exporters {
		p.tabs(tw, "  %s\t%s\t%d\t%d\t%d\t%s\t%d\n", e.Name, e.Address, len(e.Interfaces), e.Packets, e.Flows,
			withShare(e.Unclassified, e.Flows), e.SamplingAssumed)
	}
	p.flush(tw)
	if len(r.Exporters) == 0 {
		p.printf("  none configured\n")
	}

	p.printf("\nsinks\n")
	if len(r.Sinks) == 0 {
		p.printf("  none configured\n")
	} else {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		p.tabs(tw, "  name\tqueued\tlast delivery\tfailures\tlast error\n")
		for _, s := range r.Sinks {
			lastErr := "-"
			if s.LastError != "" {
				lastErr = fmt.Sprintf("%s (%s ago)", oneLine(s.LastError), age(now.Sub(time.UnixMilli(s.LastErrorUnixMs))))
			}
			p.tabs(tw, "  %s\t%d batches, %s\t%s\t%d\t%s\n", s.Name, s.QueuedBatches, bytesText(s.QueuedBytes),
				when(s.LastDeliveredUnixMs, now), s.Failures, lastErr)
		}
		p.flush(tw)
	}

	if len(r.Unclassified) == 0 {
		p.printf("\nunclassified: none in the latest interval\n")
		return p.err
	}
	p.printf("\nunclassified in the interval of %s (undeclared ifIndexes, top %d by bytes)\n",
		time.UnixMilli(r.UnclassifiedIntervalStartUnixMs).UTC().Format("2006-01-02 15:04:05 UTC"), len(r.Unclassified))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p.tabs(tw, "  exporter\tifindex\tbytes\tflows\n")
	for _, u := range r.Unclassified {
		p.tabs(tw, "  %s\t%d\t%s\t%d\n", u.Exporter, u.Ifindex, bytesText(u.Bytes), u.Flows)
	}
	p.flush(tw)
	return p.err
}

// printer keeps the first write error, so that writeStatus reads as what
// it prints.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) tabs(tw *tabwriter.Writer, format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(tw, format, args...)
	}
}

func (p *printer) flush(tw *tabwriter.Writer) {
	if err := tw.Flush(); err != nil && p.err == nil {
		p.err = err
	}
}

func withShare(n, of uint64) string {
	if of == 0 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d (%.1f%%)", n, 100*float64(n)/float64(of))
}

func when(ms int64, now time.Time) string {
	if ms == 0 {
		return "never"
	}
	t := time.UnixMilli(ms)
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format("15:04:05 UTC"), age(now.Sub(t)))
}

// age is d rounded for reading: 45s, 12m30s, 3h05m, 2d04h.
func age(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// bytesText is n in binary units: 0 B, 512 B, 1.5 KiB, 3.2 GiB.
func bytesText(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, units[i])
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 80 {
		s = string(r[:79]) + "…"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}
