// Command lastfluss-enrich-asname is the enricher plugin that names the ASNs
// of each batch: from RIPE-style asnames files and PeeringDB dumps on disk,
// and optionally from Team Cymru's DNS service for ASNs the files do not
// know.
package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lastfluss/lastfluss/sdk"
)

func main() { sdk.ServeEnricher(newEnricher(sdk.Logger())) }

const version = "0.1.0"

// enricher answers Enrich from its sources in order: the RIPE-style files,
// the PeeringDB dumps, then DNS; the first that knows an ASN wins.
type enricher struct {
	log   *slog.Logger
	state atomic.Pointer[state]

	mu         sync.Mutex // serialises Configure
	stopReload context.CancelFunc
	reloadDone chan struct{}
}

// state is what one Configure set up.
type state struct {
	settings settings
	files    []*fileSource
	dns      *cymru // nil when off
}

var _ sdk.Enricher = (*enricher)(nil)

func newEnricher(log *slog.Logger) *enricher { return &enricher{log: log} }

func (e *enricher) Info() sdk.Info {
	return sdk.Info{Name: "enrich-asname", Kind: sdk.KindEnricher, Version: version, APIVersion: sdk.APIVersion}
}

func (e *enricher) ConfigSchema() sdk.Schema { return schema }

// Configure loads every file; one that cannot be read is an error, so that a
// wrong path shows when the core starts. Malformed lines are only logged.
func (e *enricher) Configure(_ context.Context, cfg sdk.Config) error {
	s, err := parseSettings(cfg)
	if err != nil {
		return err
	}
	st := &state{settings: s}
	for _, p := range s.RIPE {
		st.files = append(st.files, newFileSource(p, formatRIPE, e.log))
	}
	for _, p := range s.PeeringDB {
		st.files = append(st.files, newFileSource(p, formatPeeringDB, e.log))
	}
	var errs []error
	for _, f := range st.files {
		errs = append(errs, f.load(true))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if s.DNS {
		st.dns = newCymru(s.DNSServer, s.DNSTimeout, s.DNSCacheTTL, s.DNSRate, e.log.With("source", "dns"))
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	e.stopReloadLocked()
	e.state.Store(st)
	if s.ReloadInterval > 0 && len(st.files) > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		e.stopReload, e.reloadDone = cancel, make(chan struct{})
		go e.reloadLoop(ctx, st, s.ReloadInterval, e.reloadDone)
	}
	return nil
}

func (e *enricher) stopReloadLocked() {
	if e.stopReload != nil {
		e.stopReload()
		<-e.reloadDone
		e.stopReload, e.reloadDone = nil, nil
	}
}

// reloadLoop checks the files every interval and reloads those that changed.
func (e *enricher) reloadLoop(ctx context.Context, st *state, interval time.Duration, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, f := range st.files {
			if err := f.load(false); err != nil {
				e.log.Warn("AS names not reloaded, keeping the previous ones", "error", err.Error())
			}
		}
	}
}

// Enrich answers from the files at once, then asks DNS about the rest for
// at most dns_timeout.
func (e *enricher) Enrich(ctx context.Context, asns []uint32) (map[uint32]sdk.ASInfo, error) {
	st := e.state.Load()
	if st == nil {
		return nil, errors.New("enrich before configure")
	}
	tables := make([]*table, len(st.files))
	for i, f := range st.files {
		tables[i] = f.tbl.Load()
	}
	out := make(map[uint32]sdk.ASInfo, len(asns))
	var missing []uint32
	for _, asn := range asns {
		found := false
		for _, t := range tables {
			if info, ok := t.lookup(asn); ok {
				out[asn] = info
				found = true
				break
			}
		}
		if !found && st.dns != nil {
			missing = append(missing, asn)
		}
	}
	if len(missing) > 0 {
		st.dns.lookup(ctx, missing, out)
	}
	return out, nil
}
