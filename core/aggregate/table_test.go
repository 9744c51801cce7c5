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
