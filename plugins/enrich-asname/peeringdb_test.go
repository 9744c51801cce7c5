package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lastfluss/lastfluss/sdk"
)

func TestPeeringDBShapes(t *testing.T) {
	objs := `[
	  {"id": 1, "org_id": 4224, "name": "Cloudflare", "aka": "Cloudflare, Inc.", "asn": 13335, "info_type": "Content", "website": "https://www.cloudflare.com"},
	  {"id": 2, "name": "Hurricane Electric", "aka": "", "asn": 6939, "info_type": "NSP"},
	  {"id": 3, "name": "No ASN"},
	  {"id": 4, "name": "", "asn": 64500},
	  {"id": 5, "name": "Zero", "asn": 0},
	  {"id": 6, "name": "Too big", "asn": 4294967296},
	  {"id": 7, "name": "Wrong type", "asn": "174"},
	  {"id": 8, "name": " Trimmed ", "aka": " AKA ", "asn": 4200000001}
	]`
	want := map[uint32]sdk.ASInfo{
		13335:      {Name: "Cloudflare", Description: "Cloudflare, Inc."},
		6939:       {Name: "Hurricane Electric"},
		4200000001: {Name: "Trimmed", Description: "AKA"},
	}
	for name, doc := range map[string]string{
		"api":  `{"meta": {}, "data": ` + objs + `}`,
		"dump": `{"org": {"data": []}, "net": {"meta": {}, "data": ` + objs + `}}`,
	} {
		t.Run(name, func(t *testing.T) {
			tbl, st, err := loadPeeringDB(strings.NewReader(doc))
			if err != nil {
				t.Fatal(err)
			}
			got := map[uint32]sdk.ASInfo{}
			for _, asn := range tbl.asns {
				got[asn], _ = tbl.lookup(asn)
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("names (-got +want):\n%s", diff)
			}
			var lines []int
			for _, b := range st.FirstBad {
				lines = append(lines, b.Line)
			}
			if diff := cmp.Diff([]any{st.Entries, st.Malformed, lines}, []any{3, 5, []int{2, 3, 4, 5, 6}}); diff != "" {
				t.Errorf("entries, malformed, indexes (-got +want):\n%s", diff)
			}
		})
	}
}

func TestPeeringDBNotADump(t *testing.T) {
	for _, doc := range []string{`{"nets": []}`, `[]`, `{"data": `, `not json`} {
		if _, _, err := loadPeeringDB(strings.NewReader(doc)); err == nil {
			t.Errorf("loadPeeringDB(%q) succeeded", doc)
		}
	}
}
