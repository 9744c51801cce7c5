package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lastfluss/lastfluss/sdk"
)

// pdbNet is the part of a PeeringDB net object this plugin uses (info_type
// and the rest are ignored).
type pdbNet struct {
	ASN  *int64 `json:"asn"`
	Name string `json:"name"`
	AKA  string `json:"aka"`
}

// pdbDump accepts both shapes: the API's /api/net answer {"data": [...]}
// and a full dump {"net": {"data": [...]}, "org": ...}.
type pdbDump struct {
	Data []json.RawMessage `json:"data"`
	Net  *struct {
		Data []json.RawMessage `json:"data"`
	} `json:"net"`
}

// loadPeeringDB reads a PeeringDB JSON dump of net objects: name becomes the
// name, aka the description; PeeringDB has no country for a network. An
// object without a usable asn or name is counted as malformed, with its
// index in the data array for a line number.
func loadPeeringDB(r io.Reader) (*table, loadStats, error) {
	var st loadStats
	var d pdbDump
	if err := json.NewDecoder(r).Decode(&d); err != nil {
		return nil, st, fmt.Errorf("decode JSON: %w", err)
	}
	objs := d.Data
	if objs == nil && d.Net != nil {
		objs = d.Net.Data
	}
	if objs == nil {
		return nil, st, errors.New(`neither "data" nor "net.data" is an array: not a PeeringDB net dump`)
	}
	var b tableBuilder
	for i, raw := range objs {
		var n pdbNet
		if err := json.Unmarshal(raw, &n); err != nil {
			st.bad(i, "object %d: %v", i, err)
			continue
		}
		name := strings.TrimSpace(n.Name)
		switch {
		case n.ASN == nil:
			st.bad(i, "object %d: no asn", i)
			continue
		case *n.ASN <= 0 || *n.ASN > 1<<32-1:
			st.bad(i, "object %d: asn %d out of range", i, *n.ASN)
			continue
		case name == "":
			st.bad(i, "object %d (AS%d): no name", i, *n.ASN)
			continue
		}
		b.add(uint32(*n.ASN), sdk.ASInfo{Name: name, Description: strings.TrimSpace(n.AKA)})
		st.Entries++
	}
	return b.build(), st, nil
}
