package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lastfluss/lastfluss/sdk"
)

// Back-off after DNS failures: doubles from backoffMin up to backoffMax, and
// a success resets it.
const (
	backoffMin = time.Minute
	backoffMax = 30 * time.Minute
	// maxCache bounds the cache; about all allocated ASNs fit.
	maxCache = 250_000
)

// cymru looks AS names up in Team Cymru's DNS service: the TXT record of
// AS<n>.asn.cymru.com. It never makes a caller wait longer than timeout: a
// query still unanswered then goes on in the background and fills the cache
// for a later batch. Answers are cached (not-found ones too) for ttl;
// queries are rate-limited by a token bucket; after a failure (timeout,
// server error) no query is sent until the back-off expires, so a dead
// resolver costs one batch its timeout, then nothing.
type cymru struct {
	resolver *net.Resolver
	timeout  time.Duration
	ttl      time.Duration
	log      *slog.Logger
	now      func() time.Time

	mu           sync.Mutex
	cache        map[uint32]cacheEntry
	inflight     map[uint32]struct{}
	bucket       tokenBucket
	failures     int // consecutive
	backoffUntil time.Time
	stats        dnsStats
}

type cacheEntry struct {
	info    sdk.ASInfo
	found   bool
	expires time.Time
}

// dnsStats counts what the DNS source did.
type dnsStats struct {
	Sent           int // queries sent
	Answered       int // with a usable answer
	NotFound       int // NXDOMAIN, no TXT or an unusable one
	Failed         int // timeouts and server errors
	SkippedBackoff int // ASNs not asked because of the back-off
	SkippedRate    int // ASNs not asked because of the rate limit
	CacheHits      int
}

// newCymru uses server ("host:port") for every query, or the system's
// resolver when server is "".
func newCymru(server string, timeout, ttl time.Duration, rate float64, log *slog.Logger) *cymru {
	r := net.DefaultResolver
	if server != "" {
		r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}}
	}
	return &cymru{
		resolver: r, timeout: timeout, ttl: ttl, log: log, now: time.Now,
		cache:    map[uint32]cacheEntry{},
		inflight: map[uint32]struct{}{},
		bucket:   newTokenBucket(rate),
	}
}

type dnsResult struct {
	asn   uint32
	info  sdk.ASInfo
	found bool
}

// lookup adds to out what DNS knows about asns, waiting at most c.timeout
// (or until ctx ends).
func (c *cymru) lookup(ctx context.Context, asns []uint32, out map[uint32]sdk.ASInfo) {
	now := c.now()
	var todo []uint32
	c.mu.Lock()
	for _, asn := range asns {
		if !queryable(asn) {
			continue
		}
		if e, ok := c.cache[asn]; ok && now.Before(e.expires) {
			c.stats.CacheHits++
			if e.found {
				out[asn] = e.info
			}
			continue
		}
		if _, ok := c.inflight[asn]; ok {
			continue
		}
		if now.Before(c.backoffUntil) {
			c.stats.SkippedBackoff++
			continue
		}
		if !c.bucket.take(now) {
			c.stats.SkippedRate++
			continue
		}
		c.inflight[asn] = struct{}{}
		c.stats.Sent++
		todo = append(todo, asn)
	}
	c.mu.Unlock()
	if len(todo) == 0 {
		return
	}

	// Buffered: a query finishing after we stopped waiting never blocks.
	results := make(chan dnsResult, len(todo))
	for _, asn := range todo {
		go func() { results <- c.query(asn) }()
	}
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	for range todo {
		select {
		case r := <-results:
			if r.found {
				out[r.asn] = r.info
			}
		case <-timer.C:
			// The queries time out now too; back off at once so that the
			// next batch does not wait for them.
			c.failed(fmt.Errorf("no answer within %s", c.timeout))
			return
		case <-ctx.Done():
			return
		}
	}
}

// query asks for one ASN and records the outcome in the cache.
func (c *cymru) query(asn uint32) dnsResult {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	txts, err := c.resolver.LookupTXT(ctx, "AS"+strconv.FormatUint(uint64(asn), 10)+".asn.cymru.com.")
	r := dnsResult{asn: asn}
	var dnsErr *net.DNSError
	notFound := errors.As(err, &dnsErr) && dnsErr.IsNotFound
	if err == nil {
		for _, txt := range txts {
			if r.info, r.found = parseCymru(asn, txt); r.found {
				break
			}
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inflight, asn)
	if err != nil && !notFound {
		c.stats.Failed++
		c.failedLocked(fmt.Errorf("look up AS%d: %w", asn, err))
		return r
	}
	c.failures, c.backoffUntil = 0, time.Time{}
	if r.found {
		c.stats.Answered++
	} else {
		c.stats.NotFound++
	}
	if len(c.cache) >= maxCache {
		c.shrinkLocked()
	}
	c.cache[asn] = cacheEntry{info: r.info, found: r.found, expires: c.now().Add(c.ttl)}
	return r
}

func (c *cymru) failed(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failedLocked(err)
}

// failedLocked starts or extends the back-off, once per wave of failures.
func (c *cymru) failedLocked(err error) {
	now := c.now()
	if now.Before(c.backoffUntil) {
		return
	}
	c.failures++
	d := backoffMin << min(c.failures-1, 10)
	d = min(d, backoffMax)
	c.backoffUntil = now.Add(d)
	c.log.Warn("AS name look-ups through DNS fail: none until the back-off ends", "error", err.Error(),
		"backoff", d.String(), "failures", c.failures)
}

// shrinkLocked drops expired entries, then arbitrary ones if that is not
// enough.
func (c *cymru) shrinkLocked() {
	now := c.now()
	for asn, e := range c.cache {
		if !now.Before(e.expires) {
			delete(c.cache, asn)
		}
	}
	for asn := range c.cache {
		if len(c.cache) < maxCache*9/10 {
			break
		}
		delete(c.cache, asn)
	}
}

func (c *cymru) Stats() dnsStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// parseCymru parses a TXT answer of asn.cymru.com:
//
//	13335 | US | arin | 2010-07-14 | CLOUDFLARENET - Cloudflare, Inc., US
func parseCymru(asn uint32, txt string) (sdk.ASInfo, bool) {
	f := strings.Split(txt, "|")
	if len(f) != 5 || strings.TrimSpace(f[0]) != strconv.FormatUint(uint64(asn), 10) {
		return sdk.ASInfo{}, false
	}
	info := parseASText(f[4])
	if cc := strings.TrimSpace(f[1]); isCountry(cc) {
		info.Country = cc
	}
	return info, info.Name != ""
}

// queryable is false for ASNs no registry names: 0, AS_TRANS, and the
// documentation, private-use and reserved ranges (RFC 5398, 6996, 7300).
// Routers export private ASNs a lot; asking about them would waste the rate.
func queryable(asn uint32) bool {
	switch {
	case asn == 0, asn == 23456:
		return false
	case asn >= 64496 && asn <= 131071:
		return false
	case asn >= 4200000000:
		return false
	}
	return true
}

// tokenBucket allows rate events a second, in bursts of up to one second's
// worth (at least one).
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newTokenBucket(rate float64) tokenBucket {
	burst := max(1, rate)
	return tokenBucket{rate: rate, burst: burst, tokens: burst}
}

func (b *tokenBucket) take(now time.Time) bool {
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
