package pluginhost

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/sdk"
)

// Handle is one running plugin, of one `sink` or `enrich` block. It is the
// dispatch stage's Sink or Enricher: a call finding the plugin gone restarts
// it (with backoff), configures it again and is retried once.
type Handle struct {
	host  *Host
	block config.Plugin
	log   *slog.Logger
	path  string
	cfg   sdk.Config

	mu     sync.Mutex // guards the fields below
	client *plugin.Client
	rpc    plugin.ClientProtocol
	raw    any // *sdk.SinkClient or *sdk.EnricherClient
	info   sdk.Info
	since  time.Time // when the current process was started
	closed bool

	restartMu sync.Mutex    // one restart at a time
	backoff   time.Duration // wait before the next restart
}

// A Handle is the dispatch stage's Sink and Enricher (core/dispatch), spelled
// out here so that pluginhost need not import dispatch.
var (
	_ interface {
		Write(context.Context, *aggregate.Batch) error
	} = (*Handle)(nil)
	_ interface {
		Enrich(context.Context, []uint32) (map[uint32]aggregate.ASInfo, error)
	} = (*Handle)(nil)
)

// Name is the block's label.
func (hd *Handle) Name() string { return hd.block.Name }

// Info is what the plugin said it is.
func (hd *Handle) Info() sdk.Info {
	hd.mu.Lock()
	defer hd.mu.Unlock()
	return hd.info
}

// Write hands b to a sink plugin and returns once the plugin stored it.
func (hd *Handle) Write(ctx context.Context, b *aggregate.Batch) error {
	sb := toSDK(b)
	return hd.call(ctx, func(raw any) error {
		s, ok := raw.(*sdk.SinkClient)
		if !ok {
			return fmt.Errorf("plugin %s is not a sink", hd.block.Name)
		}
		return s.Write(ctx, sb)
	})
}

// Enrich asks an enricher plugin about asns.
func (hd *Handle) Enrich(ctx context.Context, asns []uint32) (map[uint32]aggregate.ASInfo, error) {
	var out map[uint32]aggregate.ASInfo
	err := hd.call(ctx, func(raw any) error {
		e, ok := raw.(*sdk.EnricherClient)
		if !ok {
			return fmt.Errorf("plugin %s is not an enricher", hd.block.Name)
		}
		infos, err := e.Enrich(ctx, asns)
		if err != nil {
			return err
		}
		out = make(map[uint32]aggregate.ASInfo, len(infos))
		for asn, i := range infos {
			out[asn] = aggregate.ASInfo(i)
		}
		return nil
	})
	return out, err
}

// call runs f on the plugin, restarting the plugin first when it has exited,
// and once more after a restart when it died during the call.
func (hd *Handle) call(ctx context.Context, f func(raw any) error) error {
	client, raw, err := hd.alive(ctx)
	if err != nil {
		return err
	}
	err = f(raw)
	if err == nil || !hd.dead(client) {
		return err
	}
	hd.log.Warn("plugin died during a call", "error", err)
	if _, raw, err = hd.restart(ctx, client); err != nil {
		return err
	}
	return f(raw)
}

// alive returns the running plugin, restarting it when it has exited.
func (hd *Handle) alive(ctx context.Context) (*plugin.Client, any, error) {
	hd.mu.Lock()
	client, raw, closed := hd.client, hd.raw, hd.closed
	hd.mu.Unlock()
	if closed {
		return nil, nil, fmt.Errorf("plugin %s is stopped", hd.block.Name)
	}
	if client.Exited() {
		return hd.restart(ctx, client)
	}
	return client, raw, nil
}

// dead tells whether the process behind client is gone. A call can fail
// before go-plugin has noticed the exit, so a failed ping counts too.
func (hd *Handle) dead(client *plugin.Client) bool {
	if client.Exited() {
		return true
	}
	hd.mu.Lock()
	rpc := hd.rpc
	hd.mu.Unlock()
	return rpc.Ping() != nil
}

// restart replaces the process behind old, unless another call already did,
// and configures the new one as the old one was.
func (hd *Handle) restart(ctx context.Context, old *plugin.Client) (*plugin.Client, any, error) {
	hd.restartMu.Lock()
	defer hd.restartMu.Unlock()
	hd.mu.Lock()
	client, raw, since, closed := hd.client, hd.raw, hd.since, hd.closed
	hd.mu.Unlock()
	switch {
	case closed:
		return nil, nil, fmt.Errorf("plugin %s is stopped", hd.block.Name)
	case client != old:
		return client, raw, nil
	}
	old.Kill()

	// Back off while the plugin keeps dying; start over once it stayed up.
	cfg := hd.host.cfg
	if time.Since(since) > cfg.RestartMax {
		hd.backoff = 0
	}
	if hd.backoff > 0 {
		hd.log.Warn("plugin exited; restarting", "after", hd.backoff)
		select {
		case <-time.After(hd.backoff):
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("restart plugin %s: %w", hd.block.Name, ctx.Err())
		}
	}
	hd.backoff = min(max(2*hd.backoff, cfg.RestartMin), cfg.RestartMax)

	hd.mu.Lock()
	hd.since = time.Now() // also when the start fails: the backoff goes on
	hd.mu.Unlock()
	hd.host.restarts.WithLabelValues(hd.block.Name).Inc()
	if err := hd.launch(ctx); err != nil {
		return nil, nil, fmt.Errorf("restart plugin %s: %w", hd.block.Name, err)
	}
	hd.mu.Lock()
	client, raw, closed = hd.client, hd.raw, hd.closed
	hd.mu.Unlock()
	if closed { // closed while starting
		client.Kill()
		return nil, nil, fmt.Errorf("plugin %s is stopped", hd.block.Name)
	}
	if err := pluginOf(raw).Configure(ctx, hd.cfg); err != nil {
		client.Kill() // so that the next call tries again
		return nil, nil, fmt.Errorf("restart plugin %s: %w", hd.block.Name, err)
	}
	hd.log.Info("plugin restarted", "pid", pid(client))
	return client, raw, nil
}

func pid(c *plugin.Client) int {
	if rc := c.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// current is the running plugin's common calls.
func (hd *Handle) current() *sdk.PluginClient {
	hd.mu.Lock()
	defer hd.mu.Unlock()
	return pluginOf(hd.raw)
}

func pluginOf(raw any) *sdk.PluginClient {
	switch c := raw.(type) {
	case *sdk.SinkClient:
		return &c.PluginClient
	case *sdk.EnricherClient:
		return &c.PluginClient
	}
	panic(fmt.Sprintf("pluginhost: dispensed %T", raw))
}

// Close stops the plugin and forgets it.
func (hd *Handle) Close() {
	hd.host.mu.Lock()
	delete(hd.host.handles, hd)
	hd.host.mu.Unlock()
	hd.close()
}

func (hd *Handle) close() {
	hd.mu.Lock()
	hd.closed = true
	hd.mu.Unlock()
	hd.kill()
}

func (hd *Handle) kill() {
	hd.mu.Lock()
	client := hd.client
	hd.mu.Unlock()
	if client != nil {
		client.Kill()
	}
}

// toSDK converts a batch into what plugins see; the names are the same.
func toSDK(b *aggregate.Batch) *sdk.Batch {
	sb := &sdk.Batch{
		ID:          b.ID,
		CollectorID: b.CollectorID,
		Start:       b.Start,
		Interval:    b.Interval,
		Partial:     b.Partial,
		Interfaces:  make([]sdk.Interface, len(b.Interfaces)),
		Rows:        make([]sdk.Row, len(b.Rows)),
	}
	for i, f := range b.Interfaces {
		sb.Interfaces[i] = sdk.Interface(f)
	}
	for i, r := range b.Rows {
		sb.Rows[i] = sdk.Row{
			Interface: r.Interface, Direction: sdk.Direction(r.Direction),
			RemoteASN: r.RemoteASN, LocalASN: r.LocalASN, IPVersion: r.IPVersion, Other: r.Other,
			Bytes: r.Bytes, Packets: r.Packets, Flows: r.Flows,
		}
	}
	if b.ASNames != nil {
		sb.ASNames = make(map[uint32]sdk.ASInfo, len(b.ASNames))
		for asn, i := range b.ASNames {
			sb.ASNames[asn] = sdk.ASInfo(i)
		}
	}
	return sb
}
