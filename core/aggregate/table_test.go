package aggregate

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTableMatchesMap adds random keys, many of them repeated, through the
// growth of the table and compares with a plain map.
func TestTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tab := newTable()
	ref := make(map[Key]Values)
	for range 200_000 {
		k := Key{
			Interface: rng.Uint32N(50),
			RemoteASN: rng.Uint32N(3000) * 1_431_655, // spread over the 32 bits
			LocalASN:  rng.Uint32N(5),
			Direction: Direction(rng.Uint32N(2)),
			IPVersion: []uint8{4, 6}[rng.Uint32N(2)],
			Other:     rng.Uint32N(50) == 0,
		}
		if unpack(pack(k)) != k {
			t.Fatalf("pack/unpack changed %+v into %+v", k, unpack(pack(k)))
		}
		v := Values{Bytes: uint64(rng.Uint32N(1500)), Packets: 1, Flows: 1}
		k0, k1 := pack(k)
		tab.add(k0, k1, v)
		r := ref[k]
		r.add(v)
		ref[k] = r
	}
	got := make(map[Key]Values)
	tab.each(func(k Key, v Values) { got[k] = v })
	if diff := cmp.Diff(got, ref); diff != "" {
		t.Errorf("table vs map (-table +map):\n%s", diff)
	}
	if tab.n != len(ref) {
		t.Errorf("n = %d, want %d", tab.n, len(ref))
	}
}

// TestShardBufferedAdds: buffered adds through growth and the key cap give
// what a plain map gives, and nothing is lost.
func TestShardBufferedAdds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := NewShard(0, 5000, 10)
	ref := make(map[Key]Values)
	var total Values
	for range 100_000 {
		k := Key{Interface: rng.Uint32N(4), RemoteASN: rng.Uint32N(4000), LocalASN: 64500, IPVersion: 4}
		v := Values{Bytes: uint64(rng.Uint32N(1500)), Packets: 1, Flows: 1}
		s.Add(k, v)
		r := ref[k]
		r.add(v)
		ref[k] = r
		total.add(v)
	}
	if s.Len() != 5000+4 { // the cap, plus one other row per interface
		t.Errorf("%d keys, want 5004", s.Len())
	}
	var sum Values
	s.rows.each(func(k Key, v Values) {
		sum.add(v)
		if !k.Other && v != ref[k] {
			t.Errorf("key %+v: %+v, want %+v", k, v, ref[k])
		}
	})
	if sum != total {
		t.Errorf("sum %+v, want %+v", sum, total)
	}
}

func TestAddFlowIsAdd(t *testing.T) {
	a, b := NewShard(0, 10, 10), NewShard(0, 10, 10)
	k := Key{Interface: 3, RemoteASN: 13335, LocalASN: 64500, Direction: Out, IPVersion: 6}
	a.Add(k, Values{1, 2, 3})
	b.AddFlow(3, 13335, 64500, Out, 6, Values{1, 2, 3})
	got := func(s *Shard) map[Key]Values {
		m := map[Key]Values{}
		s.Len() // flushes
		s.rows.each(func(k Key, v Values) { m[k] = v })
		return m
	}
	if diff := cmp.Diff(got(b), got(a)); diff != "" {
		t.Errorf("AddFlow vs Add (-AddFlow +Add):\n%s", diff)
	}
}
