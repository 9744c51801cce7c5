package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lastfluss/lastfluss/sdk"
)

func TestTableFirstEntryWins(t *testing.T) {
	var b tableBuilder
	b.add(20, sdk.ASInfo{Name: "B"})
	b.add(10, sdk.ASInfo{Name: "A", Description: "first", Country: "DE"})
	b.add(10, sdk.ASInfo{Name: "A2", Description: "second"})
	b.add(30, sdk.ASInfo{Name: strings.Repeat("é", 200), Description: strings.Repeat("d", maxDesc+10), Country: "USA"})
	tbl := b.build()
	if diff := cmp.Diff(tbl.asns, []uint32{10, 20, 30}); diff != "" {
		t.Errorf("ASNs (-got +want):\n%s", diff)
	}
	got, ok := tbl.lookup(10)
	if diff := cmp.Diff(got, sdk.ASInfo{Name: "A", Description: "first", Country: "DE"}); !ok || diff != "" {
		t.Errorf("lookup(10) (-got +want):\n%s", diff)
	}
	long, _ := tbl.lookup(30)
	if long.Name != strings.Repeat("é", 127) || len(long.Description) != maxDesc || long.Country != "" {
		t.Errorf("long entry: name %d bytes, description %d bytes, country %q", len(long.Name), len(long.Description), long.Country)
	}
	if _, ok := tbl.lookup(15); ok {
		t.Error("lookup(15) found an entry")
	}
	var empty *table
	if _, ok := empty.lookup(10); ok || empty.Len() != 0 {
		t.Error("nil table knows something")
	}
}

// writeSynthetic writes an asnames file of n ASNs shaped like RIPE's: mostly
// "HANDLE - Organisation, CC" lines, some RIPE-region lines without " - ".
func writeSynthetic(t testing.TB, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	ccs := []string{"US", "DE", "BR", "CN", "RU", "GB", "IN", "FR", "NL", "AU"}
	for i := range n {
		asn := 1 + i
		if i >= 60000 {
			asn = 131072 + i*3 // 32-bit ASNs, as the file's second half
		}
		if i%3 == 0 {
			fmt.Fprintf(w, "%d NET%d-AS Example Network %d GmbH, %s\n", asn, asn, i, ccs[i%len(ccs)])
		} else {
			fmt.Fprintf(w, "%d AS%d-NET - Example Networks %d, LLC, %s\n", asn, asn, i, ccs[i%len(ccs)])
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLargeFile loads 120,000 ASNs — about all allocated ones — and reports
// the memory the table takes.
func TestLargeFile(t *testing.T) {
	const n = 120_000
	path := filepath.Join(t.TempDir(), "asn.txt")
	writeSynthetic(t, path, n)
	fi, _ := os.Stat(path)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tbl, st, err := loadRIPE(f)
	f.Close()
	took := time.Since(start)
	if err != nil || st.Malformed != 0 {
		t.Fatalf("load: %v, %+v", err, st)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	runtime.KeepAlive(tbl)

	if tbl.Len() != n {
		t.Fatalf("loaded %d ASNs, want %d", tbl.Len(), n)
	}
	t.Logf("%d ASNs from %d bytes in %s: table %d bytes (%.1f bytes/ASN), heap growth %d bytes (%.1f bytes/ASN)",
		n, fi.Size(), took.Round(time.Millisecond), tbl.Bytes(), float64(tbl.Bytes())/n, heap, float64(heap)/n)
	// The text itself is about 40 bytes an ASN; the index adds 8 and the
	// header 5, minus the ASN digits and separators not stored.
	if per := float64(tbl.Bytes()) / n; per > float64(fi.Size())/n+10 {
		t.Errorf("table takes %.1f bytes/ASN, more than the file's %.1f + 10", per, float64(fi.Size())/n)
	}
	if per := float64(heap) / n; per > 100 {
		t.Errorf("heap grew %.1f bytes/ASN, want at most 100", per)
	}
	got, ok := tbl.lookup(131072 + 119_999*3)
	want := sdk.ASInfo{Name: fmt.Sprintf("AS%d-NET", 131072+119_999*3), Description: "Example Networks 119999, LLC", Country: "AU"}
	if diff := cmp.Diff(got, want); !ok || diff != "" {
		t.Errorf("last ASN (-got +want):\n%s", diff)
	}
}
