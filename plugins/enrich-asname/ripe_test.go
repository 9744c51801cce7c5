package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lastfluss/lastfluss/sdk"
)

func TestParseRIPELine(t *testing.T) {
	tests := []struct {
		line string
		asn  uint32
		want sdk.ASInfo
		kind lineKind
	}{
		// The three shapes of the issue.
		{"13335 CLOUDFLARENET, US", 13335, sdk.ASInfo{Name: "CLOUDFLARENET", Country: "US"}, lineEntry},
		{"3320 DTAG Internet service provider operations, DE", 3320,
			sdk.ASInfo{Name: "DTAG", Description: "Internet service provider operations", Country: "DE"}, lineEntry},
		{"1 LVLT-1 - Level 3 Parent, LLC, US", 1, sdk.ASInfo{Name: "LVLT-1", Description: "Level 3 Parent, LLC", Country: "US"}, lineEntry},
		// Real lines of RIPE NCC's file with their quirks.
		{"174 COGENT-174 - Cogent Communications, LLC, US", 174,
			sdk.ASInfo{Name: "COGENT-174", Description: "Cogent Communications, LLC", Country: "US"}, lineEntry},
		{"16509 AMAZON-02 - Amazon.com, Inc., US", 16509, sdk.ASInfo{Name: "AMAZON-02", Description: "Amazon.com, Inc.", Country: "US"}, lineEntry},
		{"28000 AS28000 - LACNIC - Latin American and Caribbean IP address, UY", 28000,
			sdk.ASInfo{Name: "AS28000", Description: "LACNIC - Latin American and Caribbean IP address", Country: "UY"}, lineEntry},
		{"2799 Polismyndigheten, SE", 2799, sdk.ASInfo{Name: "Polismyndigheten", Country: "SE"}, lineEntry},
		{"4745 AS4745-138 - , KR", 4745, sdk.ASInfo{Name: "AS4745-138", Country: "KR"}, lineEntry},
		{"7901 - , NZ", 7901, sdk.ASInfo{Country: "NZ"}, lineEntry},
		{"6794 ASN-HRTNET  HRT - Croatian Radio Television, HR", 6794,
			sdk.ASInfo{Name: "ASN-HRTNET", Description: "HRT - Croatian Radio Television", Country: "HR"}, lineEntry},
		{"5536 Xyberdata - Xyberdata, MU", 5536, sdk.ASInfo{Name: "Xyberdata", Description: "Xyberdata", Country: "MU"}, lineEntry},
		{"29571 Orange Côte d'Ivoire - Orange Côte d'Ivoire, CI", 29571,
			sdk.ASInfo{Name: "Orange Côte d'Ivoire", Description: "Orange Côte d'Ivoire", Country: "CI"}, lineEntry},
		{"248 IDDQD-AS - IDDQD-AS, EU", 248, sdk.ASInfo{Name: "IDDQD-AS", Description: "IDDQD-AS", Country: "EU"}, lineEntry},
		{"0 -Reserved AS-, ZZ", 0, sdk.ASInfo{Name: "-Reserved AS-", Country: "ZZ"}, lineEntry},
		{"4200000000 -Private Use AS-, ZZ", 4200000000, sdk.ASInfo{Name: "-Private Use AS-", Country: "ZZ"}, lineEntry},
		{"403009 LOREM-IPSUM - Lorem, US", 403009, sdk.ASInfo{Name: "LOREM-IPSUM", Description: "Lorem", Country: "US"}, lineEntry},
		// Edge cases.
		{"64512 PRIVATE-NET", 64512, sdk.ASInfo{Name: "PRIVATE-NET"}, lineEntry},                                                         // no country
		{"64513 FOO - Bar, br", 64513, sdk.ASInfo{Name: "FOO", Description: "Bar, br"}, lineEntry},                                       // not A-Z
		{"64514 FOO - Bar, USA", 64514, sdk.ASInfo{Name: "FOO", Description: "Bar, USA"}, lineEntry},                                     // not two letters
		{"  64515\tTABBED  spaced out , DE  \r", 64515, sdk.ASInfo{Name: "TABBED", Description: "spaced out", Country: "DE"}, lineEntry}, // tabs, CR
		{"AS64516 WITH-PREFIX, NL", 64516, sdk.ASInfo{Name: "WITH-PREFIX", Country: "NL"}, lineEntry},
		{"4294967295 LAST, ZZ", 4294967295, sdk.ASInfo{Name: "LAST", Country: "ZZ"}, lineEntry},
		{"", 0, sdk.ASInfo{}, lineIgnored},
		{"   ", 0, sdk.ASInfo{}, lineIgnored},
		{"# comment", 0, sdk.ASInfo{}, lineIgnored},
		{"4294967296 TOO-BIG, US", 0, sdk.ASInfo{Description: "no AS number"}, lineMalformed},
		{"-1 NEGATIVE, US", 0, sdk.ASInfo{Description: "no AS number"}, lineMalformed},
		{"CLOUDFLARENET, US", 0, sdk.ASInfo{Description: "no AS number"}, lineMalformed},
		{"13335", 0, sdk.ASInfo{Description: "nothing after the AS number"}, lineMalformed},
		{"13335   ", 0, sdk.ASInfo{Description: "nothing after the AS number"}, lineMalformed},
	}
	for _, tt := range tests {
		asn, info, kind := parseRIPELine(tt.line)
		if diff := cmp.Diff([]any{asn, info, kind}, []any{tt.asn, tt.want, tt.kind}); diff != "" {
			t.Errorf("parseRIPELine(%q) (-got +want):\n%s", tt.line, diff)
		}
	}
}

// logBuffer collects a logger's JSON lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// records returns the log lines with message msg.
func (l *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func testLogger() (*slog.Logger, *logBuffer) {
	var buf logBuffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMalformedLines: the good lines load, the bad ones are counted and the
// first ten logged with their line numbers, then one summary.
func TestMalformedLines(t *testing.T) {
	var b strings.Builder
	var wantLines []float64
	for i := 1; i <= 40; i++ {
		if i%3 == 0 {
			fmt.Fprintf(&b, "junk line %d\n", i)
			if len(wantLines) < maxBadLogged {
				wantLines = append(wantLines, float64(i))
			}
			continue
		}
		fmt.Fprintf(&b, "%d NET-%d - Network %d, DE\n", 100+i, i, i)
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "asnames.txt"), b.String())

	log, buf := testLogger()
	e := newEnricher(log)
	if err := e.Configure(t.Context(), sdk.Config{"file": path, "reload_interval": 0 * time.Second}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	src := e.state.Load().files[0]
	if got := src.tbl.Load().Len(); got != 27 {
		t.Errorf("loaded %d ASNs, want 27", got)
	}
	var gotLines []float64
	for _, r := range buf.records(t, "malformed AS names line skipped") {
		gotLines = append(gotLines, r["line"].(float64))
	}
	if diff := cmp.Diff(gotLines, wantLines); diff != "" {
		t.Errorf("logged line numbers (-got +want):\n%s", diff)
	}
	sum := buf.records(t, "more malformed AS names lines skipped")
	if len(sum) != 1 || sum[0]["malformed"] != 13.0 {
		t.Errorf("summary lines: %v, want one with malformed=13", sum)
	}
	loaded := buf.records(t, "AS names loaded")
	if len(loaded) != 1 || loaded[0]["asns"] != 27.0 || loaded[0]["malformed"] != 13.0 {
		t.Errorf("load lines: %v", loaded)
	}
	info, _ := e.Enrich(t.Context(), []uint32{101, 103, 140})
	want := map[uint32]sdk.ASInfo{101: {Name: "NET-1", Description: "Network 1", Country: "DE"}, 140: {Name: "NET-40", Description: "Network 40", Country: "DE"}}
	if diff := cmp.Diff(info, want); diff != "" {
		t.Errorf("Enrich (-got +want):\n%s", diff)
	}
}

func TestLatin1(t *testing.T) {
	tbl, st, err := loadRIPE(strings.NewReader("12345 CAFE Caf\xe9 M\xfcller, DE\n12346 OK, FR\n"))
	if err != nil || st.Malformed != 0 {
		t.Fatalf("load: %v, %+v", err, st)
	}
	got, _ := tbl.lookup(12345)
	if diff := cmp.Diff(got, sdk.ASInfo{Name: "CAFE", Description: "Café Müller", Country: "DE"}); diff != "" {
		t.Errorf("Latin-1 line (-got +want):\n%s", diff)
	}
}

func TestLongLineFailsTheLoad(t *testing.T) {
	_, _, err := loadRIPE(strings.NewReader("1 A, US\n2 " + strings.Repeat("x", maxLine+1) + "\n"))
	if err == nil {
		t.Error("a line over 1 MiB loaded")
	}
}
