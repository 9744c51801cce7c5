package decode

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/netsampler/goflow2/v2/decoders/sflow"
)

// sflowDecoder decodes sFlow v5 flow samples with goflow2.
type sflowDecoder struct {
	rec Record
	pkt sflow.Packet
}

// NewSFlow returns a decoder for sFlow v5 datagrams. The exporter is the
// agent address inside the datagram; until that is read (a datagram too
// short to carry one) it is the UDP source.
func NewSFlow() Decoder {
	return &sflowDecoder{}
}

// goflow2 refuses more than this many samples or records per sample,
// except in expanded flow samples, where we check it first.
const sflowMaxCount = 1000

func (d *sflowDecoder) Decode(pkt []byte, src netip.AddrPort, emit func(*Record)) (exporter netip.Addr, err error) {
	exporter = src.Addr().Unmap()
	defer func() {
		if v := recover(); v != nil {
			err = &Error{Reason: ReasonMalformed, Err: panicError{v}}
		}
	}()
	agent, scanErr := scanSFlow(pkt)
	if agent.IsValid() {
		exporter = agent
	}
	if scanErr != nil && scanErr.Reason != ReasonShort {
		return exporter, scanErr
	}

	d.pkt.Samples = nil
	gerr := sflow.DecodeMessageVersion(bytes.NewBuffer(pkt), &d.pkt)
	for _, s := range d.pkt.Samples {
		switch s := s.(type) {
		case sflow.FlowSample:
			d.sample(s.SamplingRate, compactIf(s.Input), compactIf(s.Output), s.Records, emit)
		case sflow.ExpandedFlowSample:
			d.sample(s.SamplingRate, expandedIf(s.InputIfFormat, s.InputIfValue),
				expandedIf(s.OutputIfFormat, s.OutputIfValue), s.Records, emit)
		}
	}
	// A cut datagram is short, whatever goflow2 made of the cut.
	if scanErr != nil {
		return exporter, scanErr
	}
	if gerr != nil {
		return exporter, &Error{Reason: ReasonMalformed, Err: gerr}
	}
	return exporter, nil
}

// scanSFlow reads the datagram header and walks the sample headers, so that
// truncation is reported and goflow2 never sees a record count it would
// allocate for without bound.
func scanSFlow(pkt []byte) (agent netip.Addr, err *Error) {
	if len(pkt) < 8 {
		return agent, newError(ReasonShort, "sflow: %d octets", len(pkt))
	}
	if v := binary.BigEndian.Uint32(pkt); v != 5 {
		return agent, newError(ReasonVersion, "sflow version %d", v)
	}
	off := 8
	switch t := binary.BigEndian.Uint32(pkt[4:]); t {
	case 1:
		if len(pkt) < off+4 {
			return agent, newError(ReasonShort, "sflow: %d octets, agent address cut", len(pkt))
		}
		agent = netip.AddrFrom4([4]byte(pkt[off : off+4]))
		off += 4
	case 2:
		if len(pkt) < off+16 {
			return agent, newError(ReasonShort, "sflow: %d octets, agent address cut", len(pkt))
		}
		agent = netip.AddrFrom16([16]byte(pkt[off : off+16])).Unmap()
		off += 16
	default:
		return agent, newError(ReasonMalformed, "sflow: agent address type %d", t)
	}
	if len(pkt) < off+16 {
		return agent, newError(ReasonShort, "sflow: %d octets, header needs %d", len(pkt), off+16)
	}
	count := binary.BigEndian.Uint32(pkt[off+12:])
	off += 16
	if count > sflowMaxCount {
		return agent, newError(ReasonMalformed, "sflow: %d samples", count)
	}
	for i := range count {
		if len(pkt) < off+8 {
			return agent, newError(ReasonShort, "sflow: sample %d of %d missing", i+1, count)
		}
		format := binary.BigEndian.Uint32(pkt[off:])
		length := int(binary.BigEndian.Uint32(pkt[off+4:]))
		off += 8
		if length > len(pkt)-off {
			return agent, newError(ReasonShort, "sflow: sample %d: length %d, %d octets left", i+1, length, len(pkt)-off)
		}
		body := pkt[off : off+length]
		// Where each format keeps its record count; every record takes at
		// least its 8-octet header, so a count that cannot fit is refused
		// before goflow2 allocates for it.
		at := recordCountOffset(format)
		if at != 0 && len(body) >= at+4 {
			if n := binary.BigEndian.Uint32(body[at:]); uint64(n)*8 > uint64(len(body)-at-4) {
				return agent, newError(ReasonMalformed, "sflow: sample %d: %d records in %d octets", i+1, n, len(body)-at-4)
			}
		}
		off += length
	}
	return agent, nil
}

// recordCountOffset is where a sample body keeps its record count, 0 for
// formats goflow2 does not decode.
func recordCountOffset(format uint32) int {
	switch format {
	case sflow.SAMPLE_FORMAT_FLOW, sflow.SAMPLE_FORMAT_DROP:
		return 28
	case sflow.SAMPLE_FORMAT_COUNTER:
		return 8
	case sflow.SAMPLE_FORMAT_EXPANDED_FLOW:
		return 40
	case sflow.SAMPLE_FORMAT_EXPANDED_COUNTER:
		return 12
	}
	return 0
}

// sflow interface values whose top two bits (compact form) or format
// (expanded form) are set count packets or name a drop reason, and
// 0x3fffffff is the internal interface: none of these is an ifIndex.
func compactIf(v uint32) uint32 {
	if v>>30 != 0 {
		return 0
	}
	return expandedIf(0, v)
}

func expandedIf(format, v uint32) uint32 {
	if format != 0 || v == 0x3fffffff {
		return 0
	}
	return v
}

func (d *sflowDecoder) sample(rate, in, out uint32, records []sflow.FlowRecord, emit func(*Record)) {
	var (
		l3     uint64
		ipv    uint8
		found  bool
		fromIP bool // a sampled IPv4/IPv6 record, used without a raw header
		srcAS  uint32
		dstAS  uint32
	)
	for i := range records {
		switch data := records[i].Data.(type) {
		case sflow.SampledHeader:
			if !found || fromIP {
				if b, v, ok := l3Length(data.Protocol, data.FrameLength, data.Stripped, data.HeaderData); ok {
					l3, ipv, found, fromIP = b, v, true, false
				}
			}
		case sflow.SampledIPv4:
			if !found {
				l3, ipv, found, fromIP = uint64(data.Length), 4, true, true
			}
		case sflow.SampledIPv6:
			if !found {
				l3, ipv, found, fromIP = uint64(data.Length), 6, true, true
			}
		case sflow.ExtendedGateway:
			srcAS = data.SrcAS
			if n := len(data.ASPath); n > 0 {
				dstAS = data.ASPath[n-1]
			}
		}
	}
	if !found {
		return // not IP (ARP, …): not counted
	}
	r := &d.rec
	*r = Record{
		Bytes:        l3,
		Packets:      1,
		SamplingRate: rate,
		InIf:         in,
		OutIf:        out,
		SrcAS:        srcAS,
		DstAS:        dstAS,
		IPVersion:    ipv,
	}
	emit(r)
}

// Header protocols of a sampled raw header (sFlow header_protocol).
const (
	headerEthernet = 1
	headerIPv4     = 11
	headerIPv6     = 12
)

// l3Length reads the IP length of a sampled packet header: IPv4's total
// length, IPv6's payload length plus its 40-octet header. When the header
// is cut before that field, or the field is zero (offloaded segments,
// jumbograms), it falls back to the frame length less the layer-2 header.
func l3Length(proto, frameLen, stripped uint32, h []byte) (uint64, uint8, bool) {
	off := 0
	switch proto {
	case headerEthernet:
		if len(h) < 14 {
			return 0, 0, false
		}
		etype := binary.BigEndian.Uint16(h[12:])
		off = 14
		for etype == 0x8100 || etype == 0x88a8 || etype == 0x9100 { // VLAN tags, QinQ
			if len(h) < off+4 {
				return 0, 0, false
			}
			etype = binary.BigEndian.Uint16(h[off+2:])
			off += 4
		}
		switch etype {
		case 0x0800, 0x86dd:
		case 0x8847, 0x8848: // MPLS: skip the label stack, guess IP from the version
			for {
				if len(h) < off+4 {
					return 0, 0, false
				}
				bottom := h[off+2]&1 != 0
				off += 4
				if bottom {
					break
				}
			}
			if len(h) < off+1 {
				return 0, 0, false
			}
		default:
			return 0, 0, false
		}
	case headerIPv4, headerIPv6:
	default:
		return 0, 0, false
	}
	if len(h) <= off {
		return 0, 0, false
	}
	fallback := func(v uint8) (uint64, uint8, bool) {
		n := int64(frameLen) - int64(stripped) - int64(off)
		if n <= 0 {
			return 0, 0, false
		}
		return uint64(n), v, true
	}
	switch h[off] >> 4 {
	case 4:
		if len(h) < off+4 {
			return fallback(4)
		}
		if n := binary.BigEndian.Uint16(h[off+2:]); n != 0 {
			return uint64(n), 4, true
		}
		return fallback(4)
	case 6:
		if len(h) < off+6 {
			return fallback(6)
		}
		if n := binary.BigEndian.Uint16(h[off+4:]); n != 0 {
			return 40 + uint64(n), 6, true
		}
		return fallback(6)
	}
	return 0, 0, false
}
