package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"net/netip"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// fastNetFlow decodes NetFlow v5, v9 and IPFIX straight from the datagram,
// with templates compiled when the shared store learns them. It behaves as
// netflowDecoder (the goflow2-based reference) does; fast_test.go compares
// the two and lists where they deliberately differ.
type fastNetFlow struct {
	store *Templates
	rec   Record

	// Small caches that spare hashing a map key per datagram and per set.
	// Store entries are never removed and exporter states never change
	// once published, so a hit is always right. Templates and rates are
	// cached per entry slot, so that exporters using the same template
	// ids do not evict each other.
	entries   [entrySlots]entryCache
	templates [entrySlots][16]templateCache
	rates     [entrySlots]rateCache

	pending []pendingSet // data sets of the datagram, emitted after its options
}

type pendingSet struct {
	c    *compiledTemplate
	body []byte
	at   int // where body starts in the datagram
}

// NewFastNetFlow returns a decoder for NetFlow v5, v9 and IPFIX datagrams
// with the semantics of NewNetFlow, that does not allocate per record (nor
// per datagram once its templates are known). Decoders of several workers
// share t, with decoders of NewNetFlow too.
func NewFastNetFlow(t *Templates) Decoder {
	return &fastNetFlow{store: t, pending: make([]pendingSet, 0, 8)}
}

type entryCache struct {
	addr netip.Addr
	e    *exporterEntry
}

type templateCache struct {
	st  *exporterState
	key tmplKey
	c   *compiledTemplate
}

type rateCache struct {
	st      *exporterState
	version uint16
	domain  uint32
	rate    uint32
}

const entrySlots = 8

// entry is the store's entry for addr, nil when it has none, and the cache
// slot addr falls in.
func (d *fastNetFlow) entry(addr netip.Addr) (*exporterEntry, int) {
	a := addr.As16()
	i := int(a[15]^a[14]^a[13]) & (entrySlots - 1)
	slot := &d.entries[i]
	if slot.e != nil && slot.addr == addr {
		return slot.e, i
	}
	e := d.store.lookup(addr)
	if e != nil {
		*slot = entryCache{addr, e}
	}
	return e, i
}

// compiled is st.compiled[key], remembered in entry slot i.
func (d *fastNetFlow) compiled(i int, st *exporterState, key tmplKey) *compiledTemplate {
	slot := &d.templates[i][key.id&15]
	if slot.st != st || slot.key != key {
		*slot = templateCache{st, key, st.compiled[key]}
	}
	return slot.c
}

// domainRate is st.rateFor(version, domain, 0, false), remembered in entry
// slot i: most datagrams carry one data set, so a cache per set alone
// would look the rate up for each.
func (d *fastNetFlow) domainRate(i int, st *exporterState, version uint16, domain uint32) uint32 {
	slot := &d.rates[i]
	if slot.st != st || slot.version != version || slot.domain != domain {
		*slot = rateCache{st, version, domain, st.rateFor(version, domain, 0, false)}
	}
	return slot.rate
}

func (d *fastNetFlow) Decode(pkt []byte, src netip.AddrPort, emit func(*Record)) (exporter netip.Addr, err error) {
	exporter = src.Addr().Unmap()
	defer func() {
		if v := recover(); v != nil {
			err = &Error{Reason: ReasonMalformed, Err: panicError{v}}
		}
	}()
	if len(pkt) < 2 {
		return exporter, newError(ReasonShort, "%d octets, no version", len(pkt))
	}
	switch version := binary.BigEndian.Uint16(pkt); version {
	case 5:
		return exporter, d.decodeV5(pkt, emit)
	case 9, 10:
		if err := d.decodeTemplated(exporter, version, pkt, emit); err != nil {
			return exporter, err
		}
		return exporter, nil
	default:
		return exporter, newError(ReasonVersion, "netflow version %d", version)
	}
}

func (d *fastNetFlow) decodeV5(pkt []byte, emit func(*Record)) error {
	if len(pkt) < v5HeaderLen {
		return newError(ReasonShort, "netflow v5: %d octets, header needs %d", len(pkt), v5HeaderLen)
	}
	count := int(binary.BigEndian.Uint16(pkt[2:]))
	fit := (len(pkt) - v5HeaderLen) / v5RecordLen
	var short error
	if fit < count {
		short = newError(ReasonShort, "netflow v5: %d records announced, %d octets hold %d", count, len(pkt), fit)
		count = fit
	}
	rate := uint32(binary.BigEndian.Uint16(pkt[22:]) & 0x3fff) // the top two bits are the sampling mode
	r := &d.rec
	recs := pkt[v5HeaderLen : v5HeaderLen+count*v5RecordLen]
	for len(recs) >= v5RecordLen {
		v := recs[:v5RecordLen]
		*r = Record{
			Bytes:        uint64(binary.BigEndian.Uint32(v[20:])),
			Packets:      uint64(binary.BigEndian.Uint32(v[16:])),
			SamplingRate: rate,
			InIf:         uint32(binary.BigEndian.Uint16(v[12:])),
			OutIf:        uint32(binary.BigEndian.Uint16(v[14:])),
			SrcAS:        uint32(binary.BigEndian.Uint16(v[40:])),
			DstAS:        uint32(binary.BigEndian.Uint16(v[42:])),
			IPVersion:    4,
		}
		emit(r)
		recs = recs[v5RecordLen:]
	}
	return short
}

var (
	errSetID        = errors.New("reserved set id")
	errVarLengthCut = errors.New("variable-length field: length cut")
)

// decodeTemplated decodes NetFlow v9 and IPFIX as netflowDecoder does: the
// same header checks and set walk, then every set in order — templates
// learned, options data applied to the store, data sets kept — and the data
// records emitted last, so that rates announced anywhere in the datagram
// apply to its records.
func (d *fastNetFlow) decodeTemplated(exporter netip.Addr, version uint16, pkt []byte, emit func(*Record)) *Error {
	pkt, domain, start, scanErr, err := templatedHeader(version, pkt)
	if err != nil {
		return err
	}

	end := start
	for end+4 <= len(pkt) {
		id := binary.BigEndian.Uint16(pkt[end:])
		setLen := int(binary.BigEndian.Uint16(pkt[end+2:]))
		if setLen < 4 {
			scanErr = cmpErr(scanErr, newError(ReasonMalformed, "set at offset %d: length %d", end, setLen))
			break
		}
		if end+setLen > len(pkt) {
			scanErr = cmpErr(scanErr, newError(ReasonShort, "set at offset %d: length %d, %d octets left", end, setLen, len(pkt)-end))
			break
		}
		if id < 256 {
			if err := checkTemplateSet(version, id, pkt[end+4:end+setLen]); err != nil {
				scanErr = cmpErr(scanErr, newError(ReasonMalformed, "set at offset %d: %v", end, err))
				break
			}
		}
		end += setLen
	}
	if version == 10 && scanErr == nil && end != len(pkt) {
		scanErr = newError(ReasonMalformed, "ipfix: %d octets after the last set", len(pkt)-end)
	}

	d.pending = d.pending[:0]
	var abort error
	unknown := false
	for off := start; off < end; {
		id := binary.BigEndian.Uint16(pkt[off:])
		setLen := int(binary.BigEndian.Uint16(pkt[off+2:]))
		body := pkt[off+4 : off+setLen]
		off += setLen
		switch {
		case id >= 256:
			var c *compiledTemplate
			if e, i := d.entry(exporter); e != nil {
				c = d.compiled(i, e.load(), tmplKey{version, domain, id})
			}
			switch {
			case c == nil:
				unknown = true
			case c.kind == kindDataTemplate:
				if c.variable {
					// goflow2 decodes the whole set before any of it counts.
					if abort = walkDataSet(c, body); abort != nil {
						break
					}
				}
				d.pending = append(d.pending, pendingSet{c, body, off - setLen + 4})
			default:
				abort = d.optionsSet(exporter, version, domain, c, body)
			}
		case version == 9 && id == 0, version == 10 && id == 2:
			abort = d.templateSet(exporter, version, domain, kindDataTemplate, body)
		case version == 9 && id == 1:
			abort = d.templateSet(exporter, version, domain, kindNFv9OptionsTemplate, body)
		case version == 10 && id == 3:
			abort = d.templateSet(exporter, version, domain, kindIPFIXOptionsTemplate, body)
		default:
			abort = errSetID
		}
		if abort != nil {
			break
		}
	}

	if len(d.pending) > 0 {
		st := emptyState
		e, i := d.entry(exporter)
		if e != nil {
			st = e.load()
		}
		rates := setRates{st: st, version: version, domain: domain, domainRate: d.domainRate(i, st, version, domain)}
		for _, p := range d.pending {
			if p.c.variable {
				d.emitWalked(p.c, p.body, rates, emit)
			} else {
				d.emitFixed(p.c, pkt, p.at, len(p.body), rates, emit)
			}
		}
		d.pending = d.pending[:0]
	}

	switch {
	case abort != nil:
		return &Error{Reason: ReasonMalformed, Err: abort}
	case scanErr != nil:
		return scanErr
	case unknown:
		return &Error{Reason: ReasonTemplateUnknown, Err: netflow.ErrorTemplateNotFound}
	}
	return nil
}

// templateSet learns the (options) templates of a set that checkTemplateSet
// accepted, in order, as goflow2 does; the first one the store refuses ends
// the datagram.
func (d *fastNetFlow) templateSet(exporter netip.Addr, version uint16, domain uint32, kind uint8, b []byte) error {
	for len(b) >= 4 {
		id := binary.BigEndian.Uint16(b)
		var n, scopes, hdr int
		switch kind {
		case kindDataTemplate:
			n, hdr = int(binary.BigEndian.Uint16(b[2:])), 4
		case kindNFv9OptionsTemplate:
			scopes = int(binary.BigEndian.Uint16(b[2:])) / 4
			n, hdr = scopes+int(binary.BigEndian.Uint16(b[4:]))/4, 6
		default:
			n, scopes, hdr = int(binary.BigEndian.Uint16(b[2:])), int(binary.BigEndian.Uint16(b[4:])), 6
		}
		b = b[hdr:]
		size := 0
		for range n { // checkTemplateSet made sure the fields fit
			if version == 10 && b[size]&0x80 != 0 {
				size += 8
			} else {
				size += 4
			}
		}
		if err := d.learn(exporter, version, domain, id, kind, scopes, b[:size]); err != nil {
			return err
		}
		b = b[size:]
	}
	return nil
}

// learn adds a template to the store. A refresh of a known template is
// recognised from its wire octets without decoding it.
func (d *fastNetFlow) learn(exporter netip.Addr, version uint16, domain uint32, id uint16, kind uint8, scopes int, raw []byte) error {
	if e, _ := d.entry(exporter); e != nil && len(raw) > 0 {
		if c := e.load().compiled[tmplKey{version, domain, id}]; c != nil &&
			c.canon && c.kind == kind && c.nScopes == scopes && bytes.Equal(c.raw, raw) {
			return nil
		}
	}
	fields := make([]netflow.Field, 0, len(raw)/4)
	for len(raw) >= 4 {
		fl := netflow.Field{Type: binary.BigEndian.Uint16(raw), Length: binary.BigEndian.Uint16(raw[2:])}
		raw = raw[4:]
		if version == 10 && fl.Type&0x8000 != 0 {
			fl.PenProvided, fl.Pen = true, binary.BigEndian.Uint32(raw)
			raw = raw[4:]
			if kind == kindDataTemplate {
				fl.Type ^= 0x8000 // as goflow2: stripped in data templates only
			}
		}
		fields = append(fields, fl)
	}
	var tmpl any
	switch kind {
	case kindDataTemplate:
		tmpl = netflow.TemplateRecord{TemplateId: id, FieldCount: uint16(len(fields)), Fields: fields}
	case kindNFv9OptionsTemplate:
		tmpl = netflow.NFv9OptionsTemplateRecord{TemplateId: id,
			ScopeLength: uint16(4 * scopes), OptionLength: uint16(4 * (len(fields) - scopes)),
			Scopes: fields[:scopes:scopes], Options: fields[scopes:]}
	default:
		tmpl = netflow.IPFIXOptionsTemplateRecord{TemplateId: id,
			FieldCount: uint16(len(fields)), ScopeFieldCount: uint16(scopes),
			Scopes: fields[:scopes:scopes], Options: fields[scopes:]}
	}
	return d.store.addTemplate(exporter, version, domain, id, tmpl)
}

// walkGroup reads the fields of one group of a record as goflow2's
// DecodeDataSetUsingFields does: nothing when fewer octets remain than the
// group's fixed-length fields take; values cut short by the end of the set
// are read as they are. f may be nil (the walk only checks).
func walkGroup(fields []cfield, fixed int, b []byte, f *ieValues) ([]byte, error) {
	if len(b) < fixed {
		return b, nil
	}
	for _, fl := range fields {
		n := int(fl.length)
		if fl.length == variableLength {
			if len(b) < 1 {
				return b, errVarLengthCut
			}
			n, b = int(b[0]), b[1:]
			if n == 0xff {
				if len(b) < 2 {
					return b, errVarLengthCut
				}
				n, b = int(binary.BigEndian.Uint16(b)), b[2:]
			}
		}
		n = min(n, len(b))
		if f != nil && fl.slot >= 0 {
			f.addValue(int(fl.slot), b[:n])
		}
		b = b[n:]
	}
	return b, nil
}

// addValue is ieValues.add for one element.
func (f *ieValues) addValue(s int, b []byte) {
	if s == sIPv4Addr || s == sIPv6Addr {
		if !allZero(b) {
			f.v[s] = 1
		}
	} else if !f.present(s) {
		f.v[s] = beUint(b)
	}
	f.has |= 1 << s
}

// walkDataSet checks the records of a data set of a template with
// variable-length fields as goflow2 decodes them.
func walkDataSet(c *compiledTemplate, b []byte) error {
	var err error
	for len(b) >= c.optFixed {
		if b, err = walkGroup(c.fields, c.optFixed, b, nil); err != nil {
			return err
		}
	}
	return nil
}

// optionsSet applies the rates of an options data set to the store, as
// netflowDecoder.optionsSet does.
func (d *fastNetFlow) optionsSet(exporter netip.Addr, version uint16, domain uint32, c *compiledTemplate, b []byte) error {
	scopes, opts := c.fields[:c.nScopes], c.fields[c.nScopes:]
	// goflow2 decodes the whole set before any of it counts.
	type found struct {
		rate       uint32
		sampler    uint64
		hasSampler bool
	}
	var buf [8]found
	rates := buf[:0]
	var err error
	for len(b) >= c.scopeFixed+c.optFixed {
		var f, ignored ieValues
		sf := &f
		if version != 10 {
			// v9 scope fields are scope types, not elements.
			sf = &ignored
		}
		if b, err = walkGroup(scopes, c.scopeFixed, b, sf); err != nil {
			return err
		}
		if b, err = walkGroup(opts, c.optFixed, b, &f); err != nil {
			return err
		}
		if rate := f.rate(); rate != 0 {
			id, ok := f.sampler()
			rates = append(rates, found{rate, id, ok})
		}
	}
	for _, r := range rates {
		if r.hasSampler {
			d.store.setSamplerRate(exporter, version, domain, r.sampler, r.rate)
		} else {
			d.store.setRate(exporter, version, domain, r.rate)
		}
	}
	return nil
}

// setRates resolves the rates of the data records of one set: a rate inside
// the record wins, then its sampler's, then the exporter's for the domain
// (domainRate, resolved once per datagram).
type setRates struct {
	st      *exporterState
	version uint16
	domain  uint32

	domainRate  uint32
	lastSampler uint64
	lastRate    uint32
	lastKnown   bool
}

func (s *setRates) rate(id uint64, ok bool) uint32 {
	if !ok {
		return s.domainRate
	}
	if !s.lastKnown || s.lastSampler != id {
		s.lastSampler, s.lastRate, s.lastKnown = id, s.st.rateFor(s.version, s.domain, id, true), true
	}
	return s.lastRate
}

// emitFixed emits the records of a data set of a fixed-length template,
// the set being n octets of pkt from at.
func (d *fastNetFlow) emitFixed(c *compiledTemplate, pkt []byte, at, n int, rates setRates, emit func(*Record)) {
	l := &c.lay
	size := c.size
	if size <= 0 || at < 8 || at+n > len(pkt) {
		return
	}
	r := &d.rec
	for base := at; base+size <= at+n; base += size {
		*r = Record{
			Bytes:   l.bytes.get(pkt, base),
			Packets: l.packets.get(pkt, base),
			SrcAS:   clamp32(l.srcAS.get(pkt, base)),
			DstAS:   clamp32(l.dstAS.get(pkt, base)),
		}
		in := l.in.get(pkt, base)
		if in == 0 {
			in = l.inPhys.get(pkt, base)
		}
		out := l.out.get(pkt, base)
		if out == 0 {
			out = l.outPhys.get(pkt, base)
		}
		r.InIf, r.OutIf = clamp32(in), clamp32(out)
		r.IPVersion = l.ipVersionOf(pkt, base)
		if l.direction.n != 0 {
			switch l.direction.get(pkt, base) {
			case 0:
				r.Direction = DirectionIngress
			case 1:
				r.Direction = DirectionEgress
			}
		}
		if l.hasRate {
			r.SamplingRate = l.recordRate(pkt, base)
		}
		if r.SamplingRate == 0 {
			r.SamplingRate = rates.rate(l.sampler.get(pkt, base), l.hasSampler)
		}
		emit(r)
	}
}

func (l *layout) ipVersionOf(pkt []byte, base int) uint8 {
	if l.ipVersion.n != 0 {
		if v := l.ipVersion.get(pkt, base); v == 4 || v == 6 {
			return uint8(v)
		}
	}
	for _, a := range l.v4 {
		if a.get(pkt, base) != 0 {
			return 4
		}
	}
	for _, a := range l.v6 {
		if a.get(pkt, base) != 0 {
			return 6
		}
	}
	switch {
	case len(l.v4) > 0 && len(l.v6) == 0:
		return 4
	case len(l.v6) > 0 && len(l.v4) == 0:
		return 6
	}
	return 0
}

// recordRate is ieValues.rate on a fixed-length record.
func (l *layout) recordRate(pkt []byte, base int) uint32 {
	if r := l.rate34.get(pkt, base); r != 0 {
		return clamp32(r)
	}
	if l.rate305.n != 0 && l.rate306.n != 0 {
		if n, s := l.rate305.get(pkt, base), l.rate306.get(pkt, base); n != 0 {
			if s <= math.MaxUint32 && n <= math.MaxUint32 {
				return clamp32((n + s + n/2) / n)
			}
			return 0
		}
	}
	return clamp32(l.rate50.get(pkt, base))
}

// emitWalked emits the records of a data set of a template with
// variable-length fields (walkDataSet has checked the set).
func (d *fastNetFlow) emitWalked(c *compiledTemplate, b []byte, rates setRates, emit func(*Record)) {
	r := &d.rec
	for len(b) >= c.optFixed {
		var f ieValues
		var err error
		if b, err = walkGroup(c.fields, c.optFixed, b, &f); err != nil {
			return
		}
		f.record(r)
		if r.SamplingRate == 0 {
			id, ok := f.sampler()
			r.SamplingRate = rates.rate(id, ok)
		}
		emit(r)
	}
}

// record fills r from the elements (both decoders use it), the rate
// from the record only.
func (f *ieValues) record(r *Record) {
	*r = Record{
		Bytes:   f.first(sBytes, sBytesOut, sBytesTotal),
		Packets: f.first(sPackets, sPacketsOut, sPacketsTotal),
		InIf:    clamp32(f.nonzero(sIn, sInPhys)),
		OutIf:   clamp32(f.nonzero(sOut, sOutPhys)),
		SrcAS:   clamp32(f.v[sSrcAS]),
		DstAS:   clamp32(f.v[sDstAS]),
	}
	switch {
	case f.present(sIPVersion) && (f.v[sIPVersion] == 4 || f.v[sIPVersion] == 6):
		r.IPVersion = uint8(f.v[sIPVersion])
	case f.v[sIPv4Addr] != 0:
		r.IPVersion = 4
	case f.v[sIPv6Addr] != 0:
		r.IPVersion = 6
	case f.present(sIPv4Addr) && !f.present(sIPv6Addr):
		r.IPVersion = 4
	case f.present(sIPv6Addr) && !f.present(sIPv4Addr):
		r.IPVersion = 6
	}
	if f.present(sDirection) {
		switch f.v[sDirection] {
		case 0:
			r.Direction = DirectionIngress
		case 1:
			r.Direction = DirectionEgress
		}
	}
	r.SamplingRate = f.rate()
}
