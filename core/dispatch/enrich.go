package dispatch

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lastfluss/lastfluss/core/aggregate"
)

// enrich asks each enricher in order about the batch's ASNs; the first that
// knows an ASN wins. A failing or slow enricher costs names, never the batch.
func (d *Dispatcher) enrich(ctx context.Context, b *aggregate.Batch, enrichers []NamedEnricher) {
	if len(enrichers) == 0 {
		return
	}
	asns := batchASNs(b)
	if len(asns) == 0 {
		return
	}
	found := make(map[uint32]aggregate.ASInfo, len(asns))
	for _, e := range enrichers {
		start := time.Now()
		answer, err := d.callEnricher(ctx, e, asns)
		if err != nil {
			d.metrics.enrichErrors.WithLabelValues(e.Name).Inc()
			d.logger.Warn("enricher failed, batch goes on without its names",
				"enricher", e.Name, "batch", b.ID, "asns", len(asns), "err", err)
			continue
		}
		known := 0
		for _, asn := range asns {
			info, ok := answer[asn]
			if !ok || info == (aggregate.ASInfo{}) {
				continue
			}
			known++
			if _, taken := found[asn]; !taken {
				found[asn] = info
			}
		}
		d.logger.Debug("enriched", "enricher", e.Name, "batch", b.ID, "asns", len(asns),
			"known", known, "duration", time.Since(start))
		if len(found) == len(asns) {
			break // later enrichers could not win any ASN
		}
	}
	if len(found) == 0 {
		return
	}
	if b.ASNames == nil {
		b.ASNames = make(map[uint32]aggregate.ASInfo, len(found))
	}
	for asn, info := range found {
		if _, set := b.ASNames[asn]; !set {
			b.ASNames[asn] = info
		}
	}
	d.namesMu.Lock()
	maps.Copy(d.names, found)
	d.namesMu.Unlock()
}

// callEnricher bounds one call by EnrichTimeout even when the enricher
// ignores its context: its answer, if it ever comes, is thrown away.
func (d *Dispatcher) callEnricher(ctx context.Context, e NamedEnricher, asns []uint32) (map[uint32]aggregate.ASInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.EnrichTimeout)
	defer cancel()
	type result struct {
		answer map[uint32]aggregate.ASInfo
		err    error
	}
	done := make(chan result, 1)
	asns = slices.Clone(asns) // it may keep or change them
	go func() {
		answer, err := e.Enricher.Enrich(ctx, asns)
		done <- result{answer, err}
	}()
	select {
	case r := <-done:
		return r.answer, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("no answer within %s: %w", d.cfg.EnrichTimeout, ctx.Err())
	}
}

// batchASNs lists the distinct remote and local ASNs of a batch, sorted,
// without 0 and without the overflow rows (whose ASNs are unset).
func batchASNs(b *aggregate.Batch) []uint32 {
	set := make(map[uint32]struct{})
	for i := range b.Rows {
		r := &b.Rows[i]
		if r.Other {
			continue
		}
		if r.RemoteASN != 0 {
			set[r.RemoteASN] = struct{}{}
		}
		if r.LocalASN != 0 {
			set[r.LocalASN] = struct{}{}
		}
	}
	return slices.Sorted(maps.Keys(set))
}
