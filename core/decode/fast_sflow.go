package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/netsampler/goflow2/v2/decoders/sflow"
)

// fastSFlow decodes sFlow v5 straight from the datagram, as sflowDecoder
// (goflow2 behind the same checks) does, without allocating: every sample
// and record goflow2 decodes is walked with goflow2's own bounds, so that
// a datagram it refuses is refused here too, but only the records Lastfluss
// counts are read.
//
// One deliberate difference (tested in fast_test.go): an extended gateway
// record's AS path may have several segments (sFlow's dst_as_path is a list
// of AS_SET/AS_SEQUENCE segments). goflow2 reads only the first, takes its
// last AS as the destination AS and reads the next segment as the
// communities. Here every segment is read and the destination AS is the last
// AS of the path.
type fastSFlow struct {
	rec Record
	// goflow2Paths reads AS paths as goflow2 does (tests only).
	goflow2Paths bool
	// multiSegment is set when a datagram held a gateway record with a path
	// of several segments, where the reference reads it differently.
	multiSegment bool
}

// NewFastSFlow returns a decoder for sFlow v5 datagrams with the semantics
// of NewSFlow that does not allocate.
func NewFastSFlow() Decoder {
	return &fastSFlow{}
}

var errSFlowCut = errors.New("unexpected end of sample")

func (d *fastSFlow) Decode(pkt []byte, src netip.AddrPort, emit func(*Record)) (exporter netip.Addr, err error) {
	exporter = src.Addr().Unmap()
	defer func() {
		if v := recover(); v != nil {
			err = &Error{Reason: ReasonMalformed, Err: panicError{v}}
		}
	}()
	d.multiSegment = false
	agent, scanErr := scanSFlow(pkt)
	if agent.IsValid() {
		exporter = agent
	}
	if scanErr != nil && scanErr.Reason != ReasonShort {
		return exporter, scanErr
	}
	gerr := d.samples(pkt, emit)
	if scanErr != nil {
		return exporter, scanErr
	}
	if gerr != nil {
		return exporter, &Error{Reason: ReasonMalformed, Err: gerr}
	}
	return exporter, nil
}

// samples walks the samples as goflow2's DecodeMessage does, emitting the
// record of each flow sample that decodes whole.
func (d *fastSFlow) samples(pkt []byte, emit func(*Record)) error {
	// The header is scanSFlow's; when it is cut, goflow2 stops there.
	off := 8
	if len(pkt) < off {
		return errSFlowCut
	}
	switch binary.BigEndian.Uint32(pkt[4:]) {
	case 1:
		off += 4
	case 2:
		off += 16
	default:
		return fmt.Errorf("agent address type")
	}
	if len(pkt) < off+16 {
		return errSFlowCut
	}
	count := binary.BigEndian.Uint32(pkt[off+12:])
	if count > sflowMaxCount {
		return fmt.Errorf("too many samples: %d", count)
	}
	b := pkt[off+16:]
	for i := 0; i < int(count) && len(b) >= 8; i++ {
		format := binary.BigEndian.Uint32(b)
		length := binary.BigEndian.Uint32(b[4:])
		b = b[8:]
		if uint64(length) > uint64(len(b)) {
			break
		}
		body := b[:length]
		b = b[length:]
		if err := d.sample(format, body, emit); err != nil {
			return fmt.Errorf("sample %d: %w", i+1, err)
		}
	}
	return nil
}

// cursor reads big-endian values as goflow2's BinaryDecoder does: a read
// past the end fails.
type cursor struct {
	b   []byte
	bad bool
}

func (c *cursor) u32() uint32 {
	if len(c.b) < 4 {
		c.bad, c.b = true, nil
		return 0
	}
	v := binary.BigEndian.Uint32(c.b)
	c.b = c.b[4:]
	return v
}

func (c *cursor) skip(n uint64) {
	if uint64(len(c.b)) < n {
		c.bad, c.b = true, nil
		return
	}
	c.b = c.b[n:]
}

// sampleState is what the records of one flow sample tell.
type sampleState struct {
	l3           uint64
	ipv          uint8
	found        bool
	fromIP       bool // a sampled IPv4/IPv6 record, used without a raw header
	srcAS, dstAS uint32
}

// Where each sample format keeps its fields, as goflow2 reads them: the
// header octets, the record count (recordCountOffset) and, for flow samples,
// the rate and interfaces.
func sampleHeaderLen(format uint32) int {
	switch format {
	case sflow.SAMPLE_FORMAT_FLOW, sflow.SAMPLE_FORMAT_DROP:
		return 32
	case sflow.SAMPLE_FORMAT_COUNTER:
		return 12
	case sflow.SAMPLE_FORMAT_EXPANDED_FLOW:
		return 44
	case sflow.SAMPLE_FORMAT_EXPANDED_COUNTER:
		return 16
	}
	return 0
}

func (d *fastSFlow) sample(format uint32, body []byte, emit func(*Record)) error {
	hdr := sampleHeaderLen(format)
	switch {
	case hdr == 0:
		return fmt.Errorf("unknown format %d", format)
	case len(body) < hdr:
		return errSFlowCut
	}
	be := binary.BigEndian
	var rate, in, out uint32
	switch format {
	case sflow.SAMPLE_FORMAT_FLOW:
		rate, in, out = be.Uint32(body[8:]), compactIf(be.Uint32(body[20:])), compactIf(be.Uint32(body[24:]))
	case sflow.SAMPLE_FORMAT_EXPANDED_FLOW:
		rate = be.Uint32(body[12:])
		in = expandedIf(be.Uint32(body[24:]), be.Uint32(body[28:]))
		out = expandedIf(be.Uint32(body[32:]), be.Uint32(body[36:]))
	}
	count := be.Uint32(body[hdr-4:])
	if count > sflowMaxCount && format != sflow.SAMPLE_FORMAT_EXPANDED_FLOW {
		return fmt.Errorf("too many records: %d", count)
	}
	c := cursor{b: body[hdr:]}
	counters := format == sflow.SAMPLE_FORMAT_COUNTER || format == sflow.SAMPLE_FORMAT_EXPANDED_COUNTER
	var st sampleState
	b := c.b
	for i := uint32(0); i < count && len(b) >= 8; i++ {
		dataFormat := binary.BigEndian.Uint32(b)
		length := binary.BigEndian.Uint32(b[4:])
		b = b[8:]
		if uint64(length) > uint64(len(b)) {
			break
		}
		rec := b[:length]
		b = b[length:]
		var err error
		if counters {
			err = counterRecord(dataFormat, rec)
		} else {
			err = d.flowRecord(&st, dataFormat, rec)
		}
		if err != nil {
			return fmt.Errorf("record %d (format %d): %w", i+1, dataFormat, err)
		}
	}
	if (format != sflow.SAMPLE_FORMAT_FLOW && format != sflow.SAMPLE_FORMAT_EXPANDED_FLOW) || !st.found {
		return nil // not IP (ARP, …), or no flow sample: not counted
	}
	r := &d.rec
	*r = Record{
		Bytes:        st.l3,
		Packets:      1,
		SamplingRate: rate,
		InIf:         in,
		OutIf:        out,
		SrcAS:        st.srcAS,
		DstAS:        st.dstAS,
		IPVersion:    st.ipv,
	}
	emit(r)
	return nil
}

// Octets goflow2 reads of the fixed-size records it decodes.
const (
	sizeSampledHeader   = 16
	sizeSampledEthernet = 20
	sizeSampledIPv4     = 32
	sizeSampledIPv6     = 56
	sizeExtendedSwitch  = 16
	sizeIfCounters      = 88
	sizeEthCounters     = 52
	maxGatewayList      = 1000 // goflow2's bound on AS path and communities lengths
)

func counterRecord(format uint32, rec []byte) error {
	need := 0
	switch format {
	case sflow.COUNTER_TYPE_IF:
		need = sizeIfCounters
	case sflow.COUNTER_TYPE_ETH:
		need = sizeEthCounters
	}
	if len(rec) < need {
		return errSFlowCut
	}
	return nil
}

func (d *fastSFlow) flowRecord(st *sampleState, format uint32, rec []byte) error {
	c := cursor{b: rec}
	switch format {
	case sflow.FLOW_TYPE_RAW:
		if len(rec) < sizeSampledHeader {
			return errSFlowCut
		}
		if !st.found || st.fromIP {
			proto := binary.BigEndian.Uint32(rec)
			frameLen := binary.BigEndian.Uint32(rec[4:])
			stripped := binary.BigEndian.Uint32(rec[8:])
			if b, v, ok := l3Length(proto, frameLen, stripped, rec[sizeSampledHeader:]); ok {
				st.l3, st.ipv, st.found, st.fromIP = b, v, true, false
			}
		}
	case sflow.FLOW_TYPE_ETH:
		c.skip(sizeSampledEthernet)
	case sflow.FLOW_TYPE_IPV4, sflow.FLOW_TYPE_IPV6:
		size, v := uint64(sizeSampledIPv4), uint8(4)
		if format == sflow.FLOW_TYPE_IPV6 {
			size, v = sizeSampledIPv6, 6
		}
		if uint64(len(rec)) < size {
			return errSFlowCut
		}
		if !st.found {
			st.l3, st.ipv, st.found, st.fromIP = uint64(binary.BigEndian.Uint32(rec)), v, true, true
		}
	case sflow.FLOW_TYPE_EXT_SWITCH:
		c.skip(sizeExtendedSwitch)
	case sflow.FLOW_TYPE_EXT_ROUTER:
		if err := skipIP(&c); err != nil {
			return err
		}
		c.skip(8) // masks
	case sflow.FLOW_TYPE_EXT_GATEWAY:
		return d.gateway(st, rec)
	case sflow.FLOW_TYPE_EGRESS_QUEUE:
		c.skip(4)
	case sflow.FLOW_TYPE_EXT_ACL:
		c.u32() // number
		skipString(&c)
		c.u32() // direction
	case sflow.FLOW_TYPE_EXT_FUNCTION:
		skipString(&c)
	}
	if c.bad {
		return errSFlowCut
	}
	return nil
}

// skipIP is goflow2's DecodeIP: an address type and the address.
func skipIP(c *cursor) error {
	t := c.u32()
	if c.bad {
		return errSFlowCut
	}
	switch t {
	case 1:
		c.skip(4)
	case 2:
		c.skip(16)
	default:
		return fmt.Errorf("unknown IP version %d", t)
	}
	if c.bad {
		return errSFlowCut
	}
	return nil
}

// skipString skips an XDR string: its length, then as many octets (no
// padding, as goflow2 reads it).
func skipString(c *cursor) {
	n := c.u32()
	if !c.bad {
		c.skip(uint64(n))
	}
}

// gateway reads an extended gateway record: next hop, router's AS, source
// AS, source peer AS, the AS path's segments, communities, local preference,
// with goflow2's bounds (at most 1000 ASes in a segment and communities).
func (d *fastSFlow) gateway(st *sampleState, b []byte) error {
	be := binary.BigEndian
	if len(b) < 4 {
		return errSFlowCut
	}
	off := 4
	switch t := be.Uint32(b); t {
	case 1:
		off += 4
	case 2:
		off += 16
	default:
		return fmt.Errorf("unknown IP version %d", t)
	}
	if len(b) < off+16 {
		return errSFlowCut
	}
	srcAS, segments := be.Uint32(b[off+4:]), be.Uint32(b[off+12:])
	off += 16
	if segments > 1 {
		d.multiSegment = true
		if d.goflow2Paths {
			segments = 1
		}
	}
	dstAS, hasPath := uint32(0), false
	for range segments {
		if len(b) < off+8 { // segment type, length
			return errSFlowCut
		}
		n := be.Uint32(b[off+4:])
		off += 8
		if n > maxGatewayList || int(n) > len(b)-off-4 {
			return fmt.Errorf("as path length %d", n)
		}
		if n > 0 {
			if len(b)-off < 4*int(n) {
				return errSFlowCut
			}
			off += 4 * int(n)
			dstAS, hasPath = be.Uint32(b[off-4:]), true
		}
	}
	if len(b) < off+4 { // communities
		return errSFlowCut
	}
	n := be.Uint32(b[off:])
	off += 4
	if n > maxGatewayList || int(n) > len(b)-off-4 {
		return fmt.Errorf("communities length %d", n)
	}
	if len(b)-off < 4*int(n)+4 { // communities, local preference
		return errSFlowCut
	}
	st.srcAS = srcAS
	if hasPath {
		st.dstAS = dstAS
	}
	return nil
}
