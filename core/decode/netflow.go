package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
)

// netflowDecoder decodes NetFlow v5, v9 and IPFIX with goflow2, learning
// templates and sampling rates into a shared store.
type netflowDecoder struct {
	store *Templates
	views map[netip.Addr]*templateView // per-worker cache of store views
	rec   Record
	v5    netflowlegacy.PacketNetFlowV5
}

// NewNetFlow returns a decoder for NetFlow v5, v9 and IPFIX datagrams, told
// apart by their version field. Decoders of several workers share t.
func NewNetFlow(t *Templates) Decoder {
	return &netflowDecoder{store: t, views: map[netip.Addr]*templateView{}}
}

// maxViews bounds the per-worker view cache; past it the cache starts over.
const maxViews = 4096

func (d *netflowDecoder) view(addr netip.Addr) *templateView {
	v := d.views[addr]
	if v == nil {
		if len(d.views) >= maxViews {
			clear(d.views)
		}
		v = &templateView{store: d.store, addr: addr}
		d.views[addr] = v
	}
	return v
}

// panicError is what a recovered panic inside a decoder becomes.
type panicError struct{ value any }

func (p panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

func newError(reason string, format string, args ...any) *Error {
	return &Error{Reason: reason, Err: fmt.Errorf(format, args...)}
}

func (d *netflowDecoder) Decode(pkt []byte, src netip.AddrPort, emit func(*Record)) (exporter netip.Addr, err error) {
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
		return exporter, d.decodeTemplated(exporter, version, pkt, emit)
	default:
		return exporter, newError(ReasonVersion, "netflow version %d", version)
	}
}

const (
	v5HeaderLen = 24
	v5RecordLen = 48
)

func (d *netflowDecoder) decodeV5(pkt []byte, emit func(*Record)) error {
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
	d.v5.Records = d.v5.Records[:0]
	if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(pkt[:v5HeaderLen+count*v5RecordLen]), &d.v5); err != nil {
		return &Error{Reason: ReasonMalformed, Err: err}
	}
	rate := uint32(d.v5.SamplingInterval & 0x3fff) // the top two bits are the sampling mode
	r := &d.rec
	for i := range min(count, len(d.v5.Records)) {
		v := &d.v5.Records[i]
		*r = Record{
			Bytes:        uint64(v.DOctets),
			Packets:      uint64(v.DPkts),
			SamplingRate: rate,
			InIf:         uint32(v.Input),
			OutIf:        uint32(v.Output),
			SrcAS:        uint32(v.SrcAS),
			DstAS:        uint32(v.DstAS),
			IPVersion:    4,
		}
		emit(r)
	}
	return short
}

// decodeTemplated decodes NetFlow v9 and IPFIX.
func (d *netflowDecoder) decodeTemplated(exporter netip.Addr, version uint16, pkt []byte, emit func(*Record)) error {
	pkt, domain, start, scanErr, herr := templatedHeader(version, pkt)
	if herr != nil {
		return herr
	}

	// Walk the sets first: goflow2 silently decodes a truncated set, reads
	// trailing padding as a set header, and allocates for the field counts
	// a template announces before checking they fit.
	end, sets := start, 0
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
		if err := checkTemplateSet(version, id, pkt[end+4:end+setLen]); err != nil {
			scanErr = cmpErr(scanErr, newError(ReasonMalformed, "set at offset %d: %v", end, err))
			break
		}
		end += setLen
		sets++
	}
	if version == 10 && scanErr == nil && end != len(pkt) {
		scanErr = newError(ReasonMalformed, "ipfix: %d octets after the last set", len(pkt)-end)
	}

	v := d.view(exporter)
	// goflow2 counts v9 sets by the header's count, which exporters fill
	// with the number of records (or 0); the walk above counted the sets.
	size := uint16(sets)
	if version == 10 {
		size = uint16(end - start)
	}
	decoded, gerr := netflow.DecodeMessageCommon(bytes.NewBuffer(pkt[start:end]), v, domain, size, version)
	// Options first: rates announced in this datagram apply to its records.
	for _, s := range decoded {
		if o, ok := s.(netflow.OptionsDataFlowSet); ok {
			d.optionsSet(v, version, domain, o.Records)
		}
	}
	for _, s := range decoded {
		if ds, ok := s.(netflow.DataFlowSet); ok {
			d.dataSet(v, version, domain, ds.Records, emit)
		}
	}

	switch {
	case gerr != nil && !errors.Is(gerr, netflow.ErrorTemplateNotFound):
		return &Error{Reason: ReasonMalformed, Err: gerr}
	case scanErr != nil:
		return scanErr
	case gerr != nil:
		return &Error{Reason: ReasonTemplateUnknown, Err: gerr}
	}
	return nil
}

// checkTemplateSet checks that the (options) template records of a set fit
// in it, field by field, before goflow2 allocates for them.
func checkTemplateSet(version, id uint16, b []byte) error {
	fieldsFit := func(b []byte, n int) ([]byte, error) {
		for i := range n {
			if len(b) < 4 {
				return nil, fmt.Errorf("field %d of %d cut", i+1, n)
			}
			enterprise := version == 10 && b[0]&0x80 != 0
			b = b[4:]
			if enterprise {
				if len(b) < 4 {
					return nil, fmt.Errorf("field %d of %d: enterprise number cut", i+1, n)
				}
				b = b[4:]
			}
		}
		return b, nil
	}
	var err error
	switch {
	case version == 9 && id == 0, version == 10 && id == 2:
		for len(b) >= 4 { // as goflow2: fewer octets are padding
			n := int(binary.BigEndian.Uint16(b[2:]))
			if n > maxTemplateFields {
				return fmt.Errorf("template %d: %d fields", binary.BigEndian.Uint16(b), n)
			}
			if b, err = fieldsFit(b[4:], n); err != nil {
				return fmt.Errorf("template: %w", err)
			}
		}
	case version == 9 && id == 1:
		for len(b) >= 4 {
			if len(b) < 6 {
				return fmt.Errorf("options template header cut")
			}
			scope, opts := int(binary.BigEndian.Uint16(b[2:])), int(binary.BigEndian.Uint16(b[4:]))
			if scope%4 != 0 || opts%4 != 0 || (scope+opts)/4 > maxTemplateFields {
				return fmt.Errorf("options template: scope length %d, option length %d", scope, opts)
			}
			if b, err = fieldsFit(b[6:], (scope+opts)/4); err != nil {
				return fmt.Errorf("options template: %w", err)
			}
		}
	case version == 10 && id == 3:
		for len(b) >= 4 {
			if len(b) < 6 {
				return fmt.Errorf("options template header cut")
			}
			n, scopes := int(binary.BigEndian.Uint16(b[2:])), int(binary.BigEndian.Uint16(b[4:]))
			if scopes > n || n > maxTemplateFields {
				return fmt.Errorf("options template: %d fields, %d scopes", n, scopes)
			}
			if b, err = fieldsFit(b[6:], n); err != nil {
				return fmt.Errorf("options template: %w", err)
			}
		}
	}
	return nil
}

// cmpErr keeps the first error found.
func cmpErr(have, next *Error) *Error {
	if have != nil {
		return have
	}
	return next
}

// Information elements Lastfluss reads, by slot.
const (
	sBytes = iota
	sBytesOut
	sBytesTotal
	sPackets
	sPacketsOut
	sPacketsTotal
	sIn
	sOut
	sInPhys
	sOutPhys
	sSrcAS
	sDstAS
	sIPVersion
	sDirection
	sSamplerID
	sSelectorID
	sSamplingInterval
	sSamplerRandomInterval
	sPacketInterval
	sPacketSpace
	sIPv4Addr // value: 1 when an IPv4 address field is non-zero
	sIPv6Addr
	nSlots
)

// slotOf maps an information element id to its slot + 1 (0: not read).
var slotOf = func() (m [320]uint8) {
	for ie, slot := range map[uint16]int{
		1: sBytes, 23: sBytesOut, 85: sBytesTotal,
		2: sPackets, 24: sPacketsOut, 86: sPacketsTotal,
		10: sIn, 14: sOut, 252: sInPhys, 253: sOutPhys,
		16: sSrcAS, 17: sDstAS,
		60: sIPVersion, 61: sDirection,
		48: sSamplerID, 302: sSelectorID,
		34: sSamplingInterval, 50: sSamplerRandomInterval,
		305: sPacketInterval, 306: sPacketSpace,
		8: sIPv4Addr, 12: sIPv4Addr, 27: sIPv6Addr, 28: sIPv6Addr,
	} {
		m[ie] = uint8(slot + 1)
	}
	return m
}()

// ieValues collects the elements of one record Lastfluss reads.
type ieValues struct {
	v   [nSlots]uint64
	has uint32
}

func (f *ieValues) present(slot int) bool { return f.has&(1<<slot) != 0 }

func (f *ieValues) add(values []netflow.DataField) {
	for i := range values {
		dv := &values[i]
		if dv.PenProvided || int(dv.Type) >= len(slotOf) {
			continue // enterprise-specific elements mean something else
		}
		s := int(slotOf[dv.Type]) - 1
		if s < 0 {
			continue
		}
		b, ok := dv.Value.([]byte)
		if !ok {
			continue // not decoded: the set ended early
		}
		if s == sIPv4Addr || s == sIPv6Addr {
			if !allZero(b) {
				f.v[s] = 1
			}
		} else if !f.present(s) {
			f.v[s] = beUint(b)
		}
		f.has |= 1 << s
	}
}

// first returns the value of the first present slot, or 0.
func (f *ieValues) first(slots ...int) uint64 {
	for _, s := range slots {
		if f.present(s) {
			return f.v[s]
		}
	}
	return 0
}

// nonzero returns the first non-zero value among the slots.
func (f *ieValues) nonzero(slots ...int) uint64 {
	for _, s := range slots {
		if f.present(s) && f.v[s] != 0 {
			return f.v[s]
		}
	}
	return 0
}

// rate is the sampling rate the elements announce: samplingInterval (34),
// samplingPacketInterval/Space (305, 306) as (305+306)/305, then
// samplerRandomInterval (50).
func (f *ieValues) rate() uint32 {
	if r := f.nonzero(sSamplingInterval); r != 0 {
		return clamp32(r)
	}
	if f.present(sPacketInterval) && f.present(sPacketSpace) && f.v[sPacketInterval] != 0 {
		n, s := f.v[sPacketInterval], f.v[sPacketSpace]
		if s <= math.MaxUint32 && n <= math.MaxUint32 {
			return clamp32((n + s + n/2) / n) // rounded to the nearest integer
		}
		return 0
	}
	return clamp32(f.nonzero(sSamplerRandomInterval))
}

// sampler is the sampler or selector id, if any.
func (f *ieValues) sampler() (uint64, bool) {
	switch {
	case f.present(sSamplerID):
		return f.v[sSamplerID], true
	case f.present(sSelectorID):
		return f.v[sSelectorID], true
	}
	return 0, false
}

func (d *netflowDecoder) optionsSet(v *templateView, version uint16, domain uint32, recs []netflow.OptionsDataRecord) {
	for i := range recs {
		var f ieValues
		if version == 10 {
			// v9 scope fields are scope types, not elements; IPFIX scopes
			// are elements (often selectorId).
			f.add(recs[i].ScopesValues)
		}
		f.add(recs[i].OptionsValues)
		rate := f.rate()
		if rate == 0 {
			continue
		}
		if id, ok := f.sampler(); ok {
			v.store.setSamplerRate(v.addr, version, domain, id, rate)
		} else {
			v.store.setRate(v.addr, version, domain, rate)
		}
	}
}

func (d *netflowDecoder) dataSet(v *templateView, version uint16, domain uint32, recs []netflow.DataRecord, emit func(*Record)) {
	st := emptyState
	if e := v.resolve(); e != nil {
		st = e.load()
	}
	r := &d.rec
	for i := range recs {
		var f ieValues
		f.add(recs[i].Values)
		// A rate inside the record itself wins; then its sampler's; then
		// the exporter's for the domain.
		f.record(r)
		if r.SamplingRate == 0 {
			id, ok := f.sampler()
			r.SamplingRate = st.rateFor(version, domain, id, ok)
		}
		emit(r)
	}
}

// beUint reads an unsigned big-endian integer of any length (reduced-size
// encoding); of longer values it keeps the low 64 bits.
func beUint(b []byte) uint64 {
	if len(b) > 8 {
		b = b[len(b)-8:]
	}
	var x uint64
	for _, c := range b {
		x = x<<8 | uint64(c)
	}
	return x
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func clamp32(x uint64) uint32 {
	if x > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(x)
}

// templatedHeader reads a v9 or IPFIX header: the packet cut to the IPFIX
// message length, the source id / observation domain, where the sets start,
// and scanErr for an IPFIX message longer than the datagram (decode what is
// there; the datagram still counts as short). err: no sets can be read.
func templatedHeader(version uint16, pkt []byte) (_ []byte, domain uint32, start int, scanErr, err *Error) {
	if version == 9 {
		if len(pkt) < 20 {
			return nil, 0, 0, nil, newError(ReasonShort, "netflow v9: %d octets, header needs 20", len(pkt))
		}
		return pkt, binary.BigEndian.Uint32(pkt[16:]), 20, nil, nil
	}
	if len(pkt) < 16 {
		return nil, 0, 0, nil, newError(ReasonShort, "ipfix: %d octets, header needs 16", len(pkt))
	}
	length := int(binary.BigEndian.Uint16(pkt[2:]))
	switch {
	case length < 16:
		return nil, 0, 0, nil, newError(ReasonMalformed, "ipfix: message length %d", length)
	case length > len(pkt):
		scanErr = newError(ReasonShort, "ipfix: message length %d, %d octets received", length, len(pkt))
	default:
		pkt = pkt[:length]
	}
	return pkt, binary.BigEndian.Uint32(pkt[12:]), 16, scanErr, nil
}
