package main

import (
	"slices"
	"unicode/utf8"

	"github.com/lastfluss/lastfluss/sdk"
)

// table is an immutable ASN → ASInfo map laid out for little memory: the
// ASNs sorted in one slice, each with the offset of its entry in one string
// (the arena). An entry is a 5-byte header — country (2 bytes, zero when
// none), name length (1 byte), description length (2 bytes, big endian) —
// then the name and the description. A lookup is a binary search and
// allocates nothing: the strings it returns are slices of the arena.
type table struct {
	asns  []uint32
	offs  []uint32
	arena string
}

const (
	entryHeader = 5
	maxName     = 1<<8 - 1
	maxDesc     = 1<<16 - 1
)

// Len is the number of ASNs in t.
func (t *table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.asns)
}

// Bytes is the memory t holds (its slices' and arena's contents).
func (t *table) Bytes() int {
	if t == nil {
		return 0
	}
	return 4*cap(t.asns) + 4*cap(t.offs) + len(t.arena)
}

// lookup returns what t knows about asn.
func (t *table) lookup(asn uint32) (sdk.ASInfo, bool) {
	if t == nil {
		return sdk.ASInfo{}, false
	}
	i, ok := slices.BinarySearch(t.asns, asn)
	if !ok {
		return sdk.ASInfo{}, false
	}
	o := int(t.offs[i])
	a := t.arena
	var info sdk.ASInfo
	if a[o] != 0 {
		info.Country = a[o : o+2]
	}
	nl := int(a[o+2])
	dl := int(a[o+3])<<8 | int(a[o+4])
	o += entryHeader
	info.Name = a[o : o+nl]
	info.Description = a[o+nl : o+nl+dl]
	return info, true
}

// tableBuilder collects entries in input order; build sorts them, and for an
// ASN given twice the first entry wins.
type tableBuilder struct {
	keys  []uint64 // asn<<32 | offset: sorting orders by ASN, then input order
	arena []byte
}

func (b *tableBuilder) add(asn uint32, info sdk.ASInfo) {
	name := truncate(info.Name, maxName)
	desc := truncate(info.Description, maxDesc)
	b.keys = append(b.keys, uint64(asn)<<32|uint64(len(b.arena)))
	cc := [2]byte{}
	if len(info.Country) == 2 {
		cc = [2]byte{info.Country[0], info.Country[1]}
	}
	b.arena = append(b.arena, cc[0], cc[1], byte(len(name)), byte(len(desc)>>8), byte(len(desc)))
	b.arena = append(b.arena, name...)
	b.arena = append(b.arena, desc...)
}

func (b *tableBuilder) build() *table {
	slices.Sort(b.keys)
	t := &table{}
	n := 0
	for i, k := range b.keys {
		if i > 0 && k>>32 == b.keys[i-1]>>32 {
			continue
		}
		n++
	}
	t.asns = make([]uint32, 0, n)
	t.offs = make([]uint32, 0, n)
	for i, k := range b.keys {
		if i > 0 && k>>32 == b.keys[i-1]>>32 {
			continue
		}
		t.asns = append(t.asns, uint32(k>>32))
		t.offs = append(t.offs, uint32(k))
	}
	// Copying drops the builder's spare capacity. Entries of a duplicate
	// ASN stay in the arena; real files have none.
	t.arena = string(b.arena)
	b.keys, b.arena = nil, nil
	return t
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	// Drop the bytes of a character cut in two.
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}
