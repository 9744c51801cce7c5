package aggregate

// Key is one aggregation key within an interval. Interfaces are interned ids
// (see Registry), so a key is 16 bytes and holds no pointers.
type Key struct {
	Interface uint32
	RemoteASN uint32
	LocalASN  uint32
	Direction Direction
	IPVersion uint8
	Other     bool
}

// Values are what a key adds up.
type Values struct {
	Bytes, Packets, Flows uint64
}

func (v *Values) add(o Values) {
	v.Bytes += o.Bytes
	v.Packets += o.Packets
	v.Flows += o.Flows
}

// UnclassifiedKey is an exporter (interned id) and an undeclared ifIndex.
type UnclassifiedKey struct {
	Exporter uint32
	IfIndex  uint32
}

// Shard is one worker's part of one interval. It is owned by one goroutine
// until handed to the Merger.
type Shard struct {
	Start        int64 // interval start, Unix seconds
	Partial      bool  // handed over before the interval ended
	maxKeys      int
	maxUnclass   int
	rows         table
	unclassified map[UnclassifiedKey]*Values
	pending      [32]pendingAdd
	npending     int
	touched      uint64 // keeps the loads of flush
}

// NewShard returns an empty shard for the interval starting at start. Past
// maxKeys distinct keys, new keys go to their interface's Other row; past
// maxUnclassified unclassified keys, to the exporter's ifIndex 0.
func NewShard(start int64, maxKeys, maxUnclassified int) *Shard {
	return &Shard{
		Start:        start,
		maxKeys:      maxKeys,
		maxUnclass:   maxUnclassified,
		rows:         newTable(),
		unclassified: make(map[UnclassifiedKey]*Values),
	}
}

// AddFlow is Add for the hot path: the key's fields as arguments, packed
// without building a Key (whose copy through memory costs more than the
// rest of the add).
func (s *Shard) AddFlow(iface, remote, local uint32, dir Direction, ipVersion uint8, v Values) {
	k0, k1 := packFields(iface, remote, local, dir, ipVersion)
	if s.queue(k0, k1, v) {
		s.flush()
	}
}

// Add counts v under k. Adds are buffered and applied in groups: with
// many keys the table outgrows the CPU caches, and touching a group's
// slots first lets their cache misses overlap instead of queueing up.
func (s *Shard) Add(k Key, v Values) {
	k0, k1 := pack(k)
	if s.queue(k0, k1, v) {
		s.flush()
	}
}

// queue buffers an add and reports whether the buffer is full; it leaves
// the flush to its callers so that it is inlined. Field by field: a
// composite literal is built on the stack and copied in 16-byte loads that
// cannot be forwarded from its 8-byte stores, a stall that cost more than
// the rest of the add.
func (s *Shard) queue(k0, k1 uint64, v Values) (full bool) {
	p := &s.pending[s.npending]
	p.k0, p.k1 = k0, k1
	p.v.Bytes, p.v.Packets, p.v.Flows = v.Bytes, v.Packets, v.Flows
	s.npending++
	return s.npending == len(s.pending)
}

type pendingAdd struct {
	k0, k1 uint64
	v      Values
	slot   uint64
}

// flush applies the buffered adds. A key seen before costs one probe of the
// table and no allocation.
func (s *Shard) flush() {
	pending := s.pending[:s.npending]
	s.npending = 0
	mask := uint64(len(s.rows.slots) - 1)
	var touched uint64
	for i := range pending {
		p := &pending[i]
		p.slot = hash(p.k0, p.k1) & mask
		touched += s.rows.slots[p.slot].k1 // the load is the point
	}
	s.touched = touched
	for i := range pending {
		p := &pending[i]
		if cur := uint64(len(s.rows.slots) - 1); cur != mask {
			p.slot = hash(p.k0, p.k1) & cur // the table grew
		}
		if v := s.rows.findFrom(p.slot, p.k0, p.k1); v != nil {
			v.add(p.v)
			continue
		}
		if s.rows.n >= s.maxKeys && p.k1&otherBit == 0 {
			k := unpack(p.k0, p.k1)
			k0, k1 := pack(Key{Interface: k.Interface, Direction: k.Direction, IPVersion: k.IPVersion, Other: true})
			s.rows.add(k0, k1, p.v)
			continue
		}
		s.rows.insert(p.k0, p.k1, p.v)
	}
}

// AddUnclassified counts traffic of a configured exporter on an undeclared
// ifIndex.
func (s *Shard) AddUnclassified(k UnclassifiedKey, v Values) {
	if p, ok := s.unclassified[k]; ok {
		p.add(v)
		return
	}
	if len(s.unclassified) >= s.maxUnclass {
		k.IfIndex = 0
		if p, ok := s.unclassified[k]; ok {
			p.add(v)
			return
		}
	}
	p := new(Values)
	*p = v
	s.unclassified[k] = p
}

// Len is the number of distinct keys.
func (s *Shard) Len() int {
	s.flush()
	return s.rows.n
}

// merge adds o into s without applying the cap: the cap is applied once,
// on the merged interval, so that the biggest keys survive.
func (s *Shard) merge(o *Shard) {
	s.flush()
	o.flush()
	for i := range o.rows.slots {
		if sl := &o.rows.slots[i]; sl.k1 != 0 {
			s.rows.add(sl.k0, sl.k1, sl.v)
		}
	}
	for k, v := range o.unclassified {
		if p, ok := s.unclassified[k]; ok {
			p.add(*v)
		} else {
			s.unclassified[k] = v
		}
	}
	s.Partial = s.Partial || o.Partial
}
