package flowgen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Main is `lastfluss flowgen`: it parses args (without the subcommand) and
// sends a scenario over UDP, or with -count-only only writes its outputs.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	def := DefaultOptions()
	fs := flag.NewFlagSet("flowgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Int64("seed", def.Seed, "scenario seed")
	exporters := fs.Int("exporters", def.Exporters, "exporters, at 127.0.0.(10+i), named gen<i>")
	interfaces := fs.Int("interfaces", def.Interfaces, "declared interfaces per exporter (ifIndex 1..N)")
	asns := fs.Int("asns", def.ASNs, "distinct remote ASNs")
	protocols := fs.String("protocols", strings.Join(def.Protocols, ","), "protocols cycled over the exporters: v5, v9, ipfix, sflow")
	sampling := fs.Uint("sampling", uint(def.SamplingRate), "sampling rate the exporters announce")
	noRate := fs.Int("no-rate-exporter", def.NoRateExporter, "index of an exporter that announces no rate (config: sampling_rate = 2×-sampling); -1: none")
	rpp := fs.Int("records-per-packet", def.RecordsPerPacket, "flow records per datagram (v5: at most 30)")
	tmplEvery := fs.Int("template-every", def.TemplateEvery, "re-send templates and sampling options every N packets")
	malformed := fs.Float64("malformed", def.Malformed, "fraction of malformed datagrams")
	sflowSource := fs.String("sflow-source", def.SFlowSource.String(), "UDP source of the first sFlow exporter (its agent address stays its own); empty: none")
	target := fs.String("target", "127.0.0.1:2055", "NetFlow/IPFIX collector host:port")
	sflowTarget := fs.String("sflow-target", "127.0.0.1:6343", "sFlow collector host:port")
	rate := fs.Float64("rate", 10000, "flows per second; 0: as fast as possible")
	duration := fs.Duration("duration", 0, "send for this long (0: until -flows, or until interrupted)")
	flows := fs.Int("flows", 0, "send this many flow records in all, non-IP sFlow samples not included (0: no limit)")
	countOnly := fs.Bool("count-only", false, "send nothing, only write -write-config and -truth (needs -flows, or -duration with -rate)")
	configPath := fs.String("write-config", "", "write the exporter blocks (HCL) to this file")
	truthPath := fs.String("truth", "", "write the expected totals (JSON) to this file when done")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // usage printed on stderr
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("flowgen: unexpected arguments %q", fs.Args())
	}

	opts := def
	opts.Seed, opts.Exporters, opts.Interfaces, opts.ASNs = *seed, *exporters, *interfaces, *asns
	opts.Protocols = strings.Split(*protocols, ",")
	opts.SamplingRate, opts.NoRateExporter, opts.RecordsPerPacket = uint32(*sampling), *noRate, *rpp
	opts.TemplateEvery, opts.Malformed = *tmplEvery, *malformed
	opts.SFlowSource = netip.Addr{}
	if *sflowSource != "" {
		a, err := netip.ParseAddr(*sflowSource)
		if err != nil {
			return fmt.Errorf("flowgen: -sflow-source: %w", err)
		}
		opts.SFlowSource = a
	}
	if *rate < 0 || *flows < 0 || *duration < 0 {
		return errors.New("flowgen: -rate, -flows and -duration must not be negative")
	}
	limit := *flows
	if *countOnly {
		if limit == 0 {
			limit = int(*rate * duration.Seconds())
		}
		if limit <= 0 {
			return errors.New("flowgen: -count-only needs -flows, or -duration with -rate")
		}
	}
	opts.Start = time.Now()
	g, err := NewGenerator(opts)
	if err != nil {
		return fmt.Errorf("flowgen: %w", err)
	}
	if *configPath != "" {
		if err := os.WriteFile(*configPath, g.Config(), 0o644); err != nil {
			return fmt.Errorf("flowgen: write config: %w", err)
		}
	}

	var st sendStats
	begin := time.Now()
	if *countOnly {
		for st.flows < limit {
			d, err := g.Next(limit - st.flows)
			if err != nil {
				return fmt.Errorf("flowgen: %w", err)
			}
			st.add(d)
		}
	} else {
		s, err := newSender(*target, *sflowTarget)
		if err != nil {
			return fmt.Errorf("flowgen: %w", err)
		}
		defer s.close()
		if err := s.run(ctx, g, &st, *rate, *duration, limit); err != nil {
			return fmt.Errorf("flowgen: %w", err)
		}
	}
	if *truthPath != "" {
		if err := WriteTruth(*truthPath, g.Truth()); err != nil {
			return fmt.Errorf("flowgen: %w", err)
		}
	}
	verb := "sent"
	if *countOnly {
		verb = "generated"
	}
	elapsed := time.Since(begin)
	fmt.Fprintf(stdout, "flowgen: %s %d datagrams (%d malformed), %d flow records, from %d exporters in %s (%.0f flows/s)\n",
		verb, st.datagrams, st.malformed, st.flows, opts.Exporters, elapsed.Round(time.Millisecond),
		float64(st.flows)/max(elapsed.Seconds(), 1e-9))
	return nil
}

type sendStats struct {
	datagrams, malformed, flows int
}

func (s *sendStats) add(d Datagram) {
	s.datagrams++
	s.flows += d.Flows
	if d.Malformed != "" {
		s.malformed++
	}
}

// sender owns one UDP socket per source address.
type sender struct {
	targets map[string]netip.AddrPort
	conns   map[netip.Addr]*net.UDPConn
}

func newSender(netflow, sflow string) (*sender, error) {
	s := &sender{targets: map[string]netip.AddrPort{}, conns: map[netip.Addr]*net.UDPConn{}}
	for name, hp := range map[string]string{TargetNetFlow: netflow, TargetSFlow: sflow} {
		ua, err := net.ResolveUDPAddr("udp", hp)
		if err != nil {
			return nil, fmt.Errorf("resolve %s target %q: %w", name, hp, err)
		}
		ap := ua.AddrPort()
		s.targets[name] = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return s, nil
}

// conn returns the socket bound to src: Linux accepts any 127/8 address.
func (s *sender) conn(src netip.Addr) (*net.UDPConn, error) {
	if c, ok := s.conns[src]; ok {
		return c, nil
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
	if err != nil {
		return nil, fmt.Errorf("bind source %s: %w", src, err)
	}
	s.conns[src] = c
	return c, nil
}

func (s *sender) close() {
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *sender) send(d Datagram) error {
	c, err := s.conn(d.Src)
	if err != nil {
		return err
	}
	if _, err := c.WriteToUDPAddrPort(d.Payload, s.targets[d.Target]); err != nil {
		return fmt.Errorf("send from %s to %s: %w", d.Src, s.targets[d.Target], err)
	}
	return nil
}

// run sends until limit flows (0: none), duration (0: none) or ctx ends,
// paced to rate flows/s (0: unpaced). Pacing is a token bucket of one
// second: after a stall it catches up at most one second's worth.
func (s *sender) run(ctx context.Context, g *Generator, st *sendStats, rate float64, duration time.Duration, limit int) error {
	start := time.Now()
	var deadline time.Time
	if duration > 0 {
		deadline = start.Add(duration)
	}
	var timer *time.Timer
	base, baseFlows := start, 0
	for limit == 0 || st.flows < limit {
		if ctx.Err() != nil || (!deadline.IsZero() && !time.Now().Before(deadline)) {
			return nil
		}
		room := 0
		if limit > 0 {
			room = limit - st.flows
		}
		d, err := g.Next(room)
		if err != nil {
			return err
		}
		if err := s.send(d); err != nil {
			return err
		}
		st.add(d)
		if rate <= 0 {
			continue
		}
		due := base.Add(time.Duration(float64(st.flows-baseFlows) / rate * float64(time.Second)))
		now := time.Now()
		if lag := now.Sub(due); lag > time.Second {
			base, baseFlows = now.Add(-time.Second), st.flows
			continue
		}
		if wait := due.Sub(now); wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case <-timer.C:
			}
		}
	}
	return nil
}
