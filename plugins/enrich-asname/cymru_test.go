package main

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/lastfluss/lastfluss/sdk"
)

// dnsServer is a tiny authoritative DNS server on loopback UDP: it answers
// TXT questions from txt and NXDOMAIN otherwise; when dead it reads queries
// and never answers.
type dnsServer struct {
	conn net.PacketConn
	txt  map[string]string // lower-case name with the final dot → TXT
	dead bool

	mu      sync.Mutex
	queries []string
}

func startDNS(t *testing.T, txt map[string]string, dead bool) *dnsServer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{conn: conn, txt: txt, dead: dead}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve(t)
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return s
}

func (s *dnsServer) addr() string { return s.conn.LocalAddr().String() }

func (s *dnsServer) serve(t *testing.T) {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			t.Errorf("DNS server: bad query: %v", err)
			continue
		}
		q, err := p.Question()
		if err != nil {
			t.Errorf("DNS server: no question: %v", err)
			continue
		}
		name := strings.ToLower(q.Name.String())
		s.mu.Lock()
		s.queries = append(s.queries, name)
		s.mu.Unlock()
		if s.dead {
			continue
		}
		txt, ok := s.txt[name]
		rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
		switch {
		case !ok:
			rh.RCode = dnsmessage.RCodeNameError
		case txt == "SERVFAIL":
			rh.RCode, ok = dnsmessage.RCodeServerFailure, false
		case txt == "": // the name exists, without a TXT record
			ok = false
		}
		b := dnsmessage.NewBuilder(nil, rh)
		b.EnableCompression()
		if err := b.StartQuestions(); err != nil {
			t.Error(err)
			continue
		}
		if err := b.Question(q); err != nil {
			t.Error(err)
			continue
		}
		if ok && q.Type == dnsmessage.TypeTXT {
			if err := b.StartAnswers(); err != nil {
				t.Error(err)
				continue
			}
			if err := b.TXTResource(dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET, TTL: 3600},
				dnsmessage.TXTResource{TXT: []string{txt}}); err != nil {
				t.Error(err)
				continue
			}
		}
		msg, err := b.Finish()
		if err != nil {
			t.Error(err)
			continue
		}
		if _, err := s.conn.WriteTo(msg, from); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Error(err)
		}
	}
}

func (s *dnsServer) asked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// fakeClock drives the cache expiry and the rate limit.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var cymruAnswers = map[string]string{
	"as6939.asn.cymru.com.":  "6939 | US | arin | 1996-06-28 | HURRICANE - Hurricane Electric LLC, US",
	"as174.asn.cymru.com.":   "174 | US | arin | 1991-04-11 | COGENT-174 - Cogent Communications, LLC, US",
	"as3320.asn.cymru.com.":  "3320 | DE | ripencc | 1994-05-30 | DTAG Internet service provider operations, DE",
	"as13335.asn.cymru.com.": "13335 | US | arin | 2010-07-14 | CLOUDFLARENET - Cloudflare, Inc., US",
	"as2914.asn.cymru.com.":  "2914 | US | arin | 1998-07-31 | NTT-LTD-2914 - NTT America, Inc., US",
	"as1299.asn.cymru.com.":  "1299 | EU | ripencc | 1993-09-01 | TWELVE99 Arelion, fka Telia Carrier, SE",
	"as9999.asn.cymru.com.":  "garbage",
	"as9998.asn.cymru.com.":  "",
	"as9997.asn.cymru.com.":  "SERVFAIL",
}

// dnsEnricher configures an enricher with a file knowing 13335 and DNS
// through srv, and returns it with its DNS source on a fake clock.
func dnsEnricher(t *testing.T, srv *dnsServer, cfg sdk.Config) (*enricher, *cymru, *fakeClock, *logBuffer) {
	t.Helper()
	path := writeFile(t, t.TempDir()+"/asnames.txt", "13335 CLOUDFLARENET, US\n")
	log, buf := testLogger()
	e := newEnricher(log)
	full := sdk.Config{"file": path, "dns": true, "dns_server": srv.addr()}
	for k, v := range cfg {
		full[k] = v
	}
	if err := e.Configure(t.Context(), full); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	c := e.state.Load().dns
	c.now = clock.now // before any look-up: no race
	return e, c, clock, buf
}

func TestDNSLookups(t *testing.T) {
	srv := startDNS(t, cymruAnswers, false)
	// A generous timeout: a working server answers at once.
	e, c, clock, _ := dnsEnricher(t, srv, sdk.Config{"dns_timeout": 30 * time.Second, "dns_cache_ttl": time.Hour})

	asns := []uint32{13335, 6939, 3320, 1234, 9999, 9998, 64512, 0, 4200000001}
	want := map[uint32]sdk.ASInfo{
		13335: {Name: "CLOUDFLARENET", Country: "US"}, // from the file
		6939:  {Name: "HURRICANE", Description: "Hurricane Electric LLC", Country: "US"},
		3320:  {Name: "DTAG", Description: "Internet service provider operations", Country: "DE"},
	}
	got, err := e.Enrich(t.Context(), asns)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("first Enrich (-got +want):\n%s", diff)
	}
	// Neither what the file knows nor private ASNs are asked about.
	wantAsked := []string{"as1234.asn.cymru.com.", "as3320.asn.cymru.com.", "as6939.asn.cymru.com.", "as9998.asn.cymru.com.", "as9999.asn.cymru.com."}
	if diff := cmp.Diff(srv.asked(), wantAsked, sortStrings); diff != "" {
		t.Errorf("queries (-got +want):\n%s", diff)
	}

	// Answers and their absence come from the cache.
	got, _ = e.Enrich(t.Context(), asns)
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("second Enrich (-got +want):\n%s", diff)
	}
	if n := len(srv.asked()); n != 5 {
		t.Errorf("%d queries after the second Enrich, want the first 5", n)
	}
	if diff := cmp.Diff(c.Stats(), dnsStats{Sent: 5, Answered: 2, NotFound: 3, CacheHits: 5}); diff != "" {
		t.Errorf("stats (-got +want):\n%s", diff)
	}

	// Past the TTL they are asked again.
	clock.advance(time.Hour + time.Second)
	if got, _ = e.Enrich(t.Context(), []uint32{6939}); got[6939].Name != "HURRICANE" || len(srv.asked()) != 6 {
		t.Errorf("after the TTL: %v, %d queries, want HURRICANE and 6", got, len(srv.asked()))
	}

	// A server failure is no answer: not cached, and a back-off.
	got, _ = e.Enrich(t.Context(), []uint32{9997})
	if s := c.Stats(); len(got) != 0 || s.Failed != 1 || s.SkippedBackoff != 0 {
		t.Errorf("SERVFAIL: %v, %+v", got, s)
	}
	if got, _ = e.Enrich(t.Context(), []uint32{174}); len(got) != 0 || c.Stats().SkippedBackoff != 1 {
		t.Errorf("after SERVFAIL: %v, %+v, want AS174 skipped", got, c.Stats())
	}
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// TestDNSDeadResolver: a resolver that never answers costs one batch its
// timeout; then, during the back-off, no query is sent at all.
func TestDNSDeadResolver(t *testing.T) {
	srv := startDNS(t, nil, true)
	const timeout = 300 * time.Millisecond
	e, c, clock, buf := dnsEnricher(t, srv, sdk.Config{"dns_timeout": timeout})

	start := time.Now()
	got, err := e.Enrich(t.Context(), []uint32{13335, 6939, 174})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, map[uint32]sdk.ASInfo{13335: {Name: "CLOUDFLARENET", Country: "US"}}); diff != "" {
		t.Errorf("Enrich with a dead resolver (-got +want):\n%s", diff)
	}
	if took < timeout {
		t.Errorf("first Enrich took %s: did it wait for the queries at all?", took)
	}
	if s := c.Stats(); s.Sent != 2 {
		t.Errorf("first Enrich sent %d queries, want 2", s.Sent)
	}
	if n := len(buf.records(t, "AS name look-ups through DNS fail: none until the back-off ends")); n != 1 {
		t.Errorf("%d back-off warnings, want 1", n)
	}

	// During the back-off: nothing sent, so nothing waited for.
	got, _ = e.Enrich(t.Context(), []uint32{13335, 3320, 2914})
	if _, ok := got[13335]; !ok || len(got) != 1 {
		t.Errorf("Enrich during the back-off: %v", got)
	}
	s := c.Stats()
	if s.Sent != 2 || s.SkippedBackoff != 2 {
		t.Errorf("during the back-off: %+v, want 2 sent in all and 2 skipped", s)
	}
	// The two queries of the first batch end (time out) on their own.
	for c.Stats().Failed < 2 {
		time.Sleep(10 * time.Millisecond)
	}

	// Once the back-off is over the resolver is tried again, then backed
	// off for twice as long.
	clock.advance(backoffMin + time.Second)
	e.Enrich(t.Context(), []uint32{3320})
	clock.advance(backoffMin + time.Second)
	e.Enrich(t.Context(), []uint32{2914})
	if s := c.Stats(); s.Sent != 3 || s.SkippedBackoff != 3 {
		t.Errorf("after the back-off: %+v, want 3 sent and 3 skipped", s)
	}
}

// TestDNSRateLimit: no more queries than the rate allows; the rest wait
// for a later batch.
func TestDNSRateLimit(t *testing.T) {
	srv := startDNS(t, cymruAnswers, false)
	e, c, clock, _ := dnsEnricher(t, srv, sdk.Config{"dns_timeout": 30 * time.Second, "dns_rate": 2.0})

	asns := []uint32{6939, 174, 3320, 2914, 1299}
	got, _ := e.Enrich(t.Context(), asns)
	if len(got) != 2 || got[6939].Name != "HURRICANE" || got[174].Name != "COGENT-174" {
		t.Errorf("first batch: %v, want the first two", got)
	}
	got, _ = e.Enrich(t.Context(), asns) // the clock has not moved: no token
	if len(got) != 2 {
		t.Errorf("second batch: %v, want the cached two", got)
	}
	clock.advance(time.Second)
	got, _ = e.Enrich(t.Context(), asns)
	if len(got) != 4 || got[2914].Name != "NTT-LTD-2914" {
		t.Errorf("a second later: %v, want four", got)
	}
	clock.advance(time.Second)
	got, _ = e.Enrich(t.Context(), asns)
	want := sdk.ASInfo{Name: "TWELVE99", Description: "Arelion, fka Telia Carrier", Country: "EU"}
	if diff := cmp.Diff(got[1299], want); len(got) != 5 || diff != "" {
		t.Errorf("two seconds later: %d names, AS1299 (-got +want):\n%s", len(got), diff)
	}
	if s := c.Stats(); s.Sent != 5 || s.SkippedRate != 3+3+1 {
		t.Errorf("stats %+v: want 5 sent, 7 skipped by the rate", s)
	}
}

func TestTokenBucket(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newTokenBucket(10)
	n := 0
	for b.take(t0) {
		n++
	}
	if n != 10 {
		t.Errorf("burst %d, want 10", n)
	}
	if !b.take(t0.Add(100*time.Millisecond)) || b.take(t0.Add(100*time.Millisecond)) {
		t.Error("want exactly one token after 100ms")
	}
	if b.take(t0) { // a clock going back adds nothing
		t.Error("token from a clock going back")
	}
	slow := newTokenBucket(0.5)
	if !slow.take(t0) || slow.take(t0.Add(time.Second)) || !slow.take(t0.Add(2*time.Second)) {
		t.Error("rate 0.5: want one token at once, the next after two seconds")
	}
}

func TestParseCymru(t *testing.T) {
	tests := []struct {
		asn  uint32
		txt  string
		want sdk.ASInfo
		ok   bool
	}{
		{13335, "13335 | US | arin | 2010-07-14 | CLOUDFLARENET - Cloudflare, Inc., US", sdk.ASInfo{Name: "CLOUDFLARENET", Description: "Cloudflare, Inc.", Country: "US"}, true},
		{3320, "3320 | DE | ripencc | 1994-05-30 | DTAG Internet service provider operations, DE", sdk.ASInfo{Name: "DTAG", Description: "Internet service provider operations", Country: "DE"}, true},
		{64, "64 | | arin | | NONAME", sdk.ASInfo{Name: "NONAME"}, true},
		{13335, "174 | US | arin | 1991-04-11 | COGENT-174 - Cogent, US", sdk.ASInfo{}, false}, // another ASN
		{13335, "13335 | US | arin | 2010-07-14", sdk.ASInfo{}, false},
		{13335, "13335 | US | arin | 2010-07-14 | ", sdk.ASInfo{Country: "US"}, false},
	}
	for _, tt := range tests {
		got, ok := parseCymru(tt.asn, tt.txt)
		if diff := cmp.Diff([]any{got, ok}, []any{tt.want, tt.ok}); diff != "" {
			t.Errorf("parseCymru(%d, %q) (-got +want):\n%s", tt.asn, tt.txt, diff)
		}
	}
}
