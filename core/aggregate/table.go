package aggregate

// table is an open-addressing hash table from Key to Values, with the
// values stored inline. It replaces map[Key]*Values on the hot path: the
// key packs into two words hashed with a few multiplications instead of
// the runtime's generic hash of a padded struct, and adding to a key seen
// before costs no pointer chase.
type table struct {
	slots []slot
	n     int
}

type slot struct {
	k0, k1 uint64 // the packed key; k1 == 0 marks an empty slot
	v      Values
}

const minSlots = 1024

func newTable() table { return table{slots: make([]slot, minSlots)} }

// pack turns k into two words; k1 always has its top bit set, so that a
// used slot never looks empty.
func pack(k Key) (k0, k1 uint64) {
	k0, k1 = packFields(k.Interface, k.RemoteASN, k.LocalASN, k.Direction, k.IPVersion)
	if k.Other {
		k1 |= otherBit
	}
	return k0, k1
}

const otherBit = 1 << 48

func packFields(iface, remote, local uint32, dir Direction, ipVersion uint8) (k0, k1 uint64) {
	return uint64(remote)<<32 | uint64(local), 1<<63 | uint64(iface) | uint64(ipVersion)<<32 | uint64(dir)<<40
}

func unpack(k0, k1 uint64) Key {
	return Key{
		Interface: uint32(k1),
		RemoteASN: uint32(k0 >> 32),
		LocalASN:  uint32(k0),
		Direction: Direction(k1 >> 40),
		IPVersion: uint8(k1 >> 32),
		Other:     k1&otherBit != 0,
	}
}

func hash(k0, k1 uint64) uint64 {
	h := k0*0x9e3779b97f4a7c15 ^ k1
	h ^= h >> 32
	h *= 0xd6e8feb86659fd93
	h ^= h >> 32
	return h
}

// find returns the values of the key, nil when it is not there.
func (t *table) find(k0, k1 uint64) *Values {
	return t.findFrom(hash(k0, k1)&uint64(len(t.slots)-1), k0, k1)
}

// findFrom is find from the key's home slot i.
func (t *table) findFrom(i, k0, k1 uint64) *Values {
	mask := uint64(len(t.slots) - 1)
	for ; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.k1 == k1 && s.k0 == k0 {
			return &s.v
		}
		if s.k1 == 0 {
			return nil
		}
	}
}

// insert adds a key that is not in the table yet.
func (t *table) insert(k0, k1 uint64, v Values) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	i := hash(k0, k1) & mask
	for t.slots[i].k1 != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = slot{k0: k0, k1: k1, v: v}
	t.n++
}

func (t *table) grow() {
	old := t.slots
	t.slots = make([]slot, 2*len(old))
	t.n = 0
	for i := range old {
		if old[i].k1 != 0 {
			t.insert(old[i].k0, old[i].k1, old[i].v)
		}
	}
}

// add adds v to the key's values, inserting the key when new.
func (t *table) add(k0, k1 uint64, v Values) {
	if p := t.find(k0, k1); p != nil {
		p.add(v)
		return
	}
	t.insert(k0, k1, v)
}

// each calls f for every key.
func (t *table) each(f func(Key, Values)) {
	for i := range t.slots {
		if s := &t.slots[i]; s.k1 != 0 {
			f(unpack(s.k0, s.k1), s.v)
		}
	}
}
