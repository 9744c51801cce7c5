package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLoadRIPE: any input loads or fails cleanly; every entry reads back
// from the table as parsed, with a country of two capital letters or none.
func FuzzLoadRIPE(f *testing.F) {
	f.Add("13335 CLOUDFLARENET, US\n3320 DTAG Internet service provider operations, DE\n1 LVLT-1 - Level 3 Parent, LLC, US\n")
	f.Fuzz(func(t *testing.T, in string) {
		tbl, st, err := loadRIPE(strings.NewReader(in))
		if err != nil {
			return
		}
		if st.Malformed < len(st.FirstBad) || len(st.FirstBad) > maxBadLogged {
			t.Fatalf("stats %+v", st)
		}
		for _, line := range strings.Split(in, "\n") {
			if !utf8.ValidString(line) {
				continue
			}
			asn, info, kind := parseRIPELine(line)
			if kind != lineEntry {
				continue
			}
			if info.Country != "" && !isCountry(info.Country) {
				t.Fatalf("%q: country %q", line, info.Country)
			}
			if _, ok := tbl.lookup(asn); !ok {
				t.Fatalf("%q: AS%d not in the table", line, asn)
			}
		}
		for _, asn := range tbl.asns {
			got, _ := tbl.lookup(asn)
			if !utf8.ValidString(got.Name) || !utf8.ValidString(got.Description) {
				t.Fatalf("AS%d: invalid UTF-8 in %+v", asn, got)
			}
		}
	})
}

// FuzzLoadPeeringDB: any input loads or fails without a panic.
func FuzzLoadPeeringDB(f *testing.F) {
	f.Add(`{"data": [{"asn": 13335, "name": "Cloudflare", "aka": "Cloudflare, Inc.", "info_type": "Content"}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		tbl, st, err := loadPeeringDB(strings.NewReader(in))
		if err == nil && tbl.Len() > st.Entries {
			t.Fatalf("%d ASNs from %d entries", tbl.Len(), st.Entries)
		}
	})
}

// FuzzParseCymru: an accepted answer has a name.
func FuzzParseCymru(f *testing.F) {
	f.Add(uint32(13335), "13335 | US | arin | 2010-07-14 | CLOUDFLARENET - Cloudflare, Inc., US")
	f.Fuzz(func(t *testing.T, asn uint32, txt string) {
		if info, ok := parseCymru(asn, txt); ok && info.Name == "" {
			t.Fatalf("accepted %q without a name", txt)
		}
	})
}
