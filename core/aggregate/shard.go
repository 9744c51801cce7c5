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
	rows         map[Key]*Values
	unclassified map[UnclassifiedKey]*Values
}

// NewShard returns an empty shard for the interval starting at start. Past
// maxKeys distinct keys, new keys go to their interface's Other row; past
// maxUnclassified unclassified keys, to the exporter's ifIndex 0.
func NewShard(start int64, maxKeys, maxUnclassified int) *Shard {
	return &Shard{
		Start:        start,
		maxKeys:      maxKeys,
		maxUnclass:   maxUnclassified,
		rows:         make(map[Key]*Values),
		unclassified: make(map[UnclassifiedKey]*Values),
	}
}

// Add counts v under k. Pointers in the map keep the common case (a key seen
// before) to one lookup and no allocation.
func (s *Shard) Add(k Key, v Values) {
	if p, ok := s.rows[k]; ok {
		p.add(v)
		return
	}
	if len(s.rows) >= s.maxKeys && !k.Other {
		k = Key{Interface: k.Interface, Direction: k.Direction, IPVersion: k.IPVersion, Other: true}
		if p, ok := s.rows[k]; ok {
			p.add(v)
			return
		}
	}
	p := new(Values)
	*p = v
	s.rows[k] = p
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
func (s *Shard) Len() int { return len(s.rows) }

// merge adds o into s without applying the cap: the cap is applied once,
// on the merged interval, so that the biggest keys survive.
func (s *Shard) merge(o *Shard) {
	for k, v := range o.rows {
		if p, ok := s.rows[k]; ok {
			p.add(*v)
		} else {
			s.rows[k] = v
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
