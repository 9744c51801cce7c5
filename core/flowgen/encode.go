package flowgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Flow is one flow record as flowgen encodes it, before sampling is applied.
type Flow struct {
	SrcAddr, DstAddr netip.Addr // both IPv4 or both IPv6; invalid for a non-IP sFlow sample
	SrcPort, DstPort uint16
	Proto            uint8  // 6 TCP, 17 UDP
	Bytes            uint64 // layer-3 octets (sFlow: the IP total length of the one sampled packet)
	Packets          uint64
	InIf, OutIf      uint32 // ifIndex; for sFlow the compact encoding, format in the top two bits
	SrcAS, DstAS     uint32
	Egress           bool // field 61 flowDirection = 1; only written when a template has field 61
}

// IPVersion is 4 or 6, 0 when the flow is not IP.
func (f *Flow) IPVersion() uint8 {
	switch {
	case f.SrcAddr.Is4():
		return 4
	case f.SrcAddr.Is6():
		return 6
	}
	return 0
}

// Information elements flowgen writes (NetFlow v9 and IPFIX share the numbers).
const (
	FieldInBytes             = 1
	FieldInPkts              = 2
	FieldProtocol            = 4
	FieldL4SrcPort           = 7
	FieldIPv4SrcAddr         = 8
	FieldInputSNMP           = 10
	FieldL4DstPort           = 11
	FieldIPv4DstAddr         = 12
	FieldOutputSNMP          = 14
	FieldSrcAS               = 16
	FieldDstAS               = 17
	FieldIPv6SrcAddr         = 27
	FieldIPv6DstAddr         = 28
	FieldSamplingInterval    = 34
	FieldSamplerRandomInterv = 50
	FieldDirection           = 61
	FieldObservationDomainID = 149
	FieldSamplingPacketInt   = 305
	FieldSamplingPacketSpace = 306

	ScopeSystem = 1 // NetFlow v9 options scope type "System"
)

// Field is one template field: an information element and its length.
type Field struct {
	Type   uint16
	Length uint16
}

// Template is a v9 or IPFIX data template.
type Template struct {
	ID     uint16
	Fields []Field
}

// Size is the length of one data record.
func (t Template) Size() int {
	n := 0
	for _, f := range t.Fields {
		n += int(f.Length)
	}
	return n
}

// OptionsTemplate is a v9 or IPFIX options template.
type OptionsTemplate struct {
	ID      uint16
	Scopes  []Field
	Options []Field
}

// OptionsRecord is one options data record: one value per scope field and per
// option field, written big-endian in the field's length.
type OptionsRecord struct {
	Scopes  []uint64
	Options []uint64
}

// Set is one v9 FlowSet or IPFIX Set, header included, with the number of
// records it holds (the v9 header counts records).
type Set struct {
	ID      uint16
	Records int
	Bytes   []byte
}

// FlowTemplate is the data template flowgen uses: IPv4 or IPv6 addresses,
// field 61 when withDirection. ipfix selects IPFIX lengths (8-byte counters,
// 4-byte interfaces) over the classic v9 ones (4-byte counters, 2-byte
// interfaces), so decoders see both.
func FlowTemplate(id uint16, ipfix, ipv6, withDirection bool) Template {
	ctr, ifl := uint16(4), uint16(2)
	if ipfix {
		ctr, ifl = 8, 4
	}
	src, dst, al := uint16(FieldIPv4SrcAddr), uint16(FieldIPv4DstAddr), uint16(4)
	if ipv6 {
		src, dst, al = FieldIPv6SrcAddr, FieldIPv6DstAddr, 16
	}
	t := Template{ID: id, Fields: []Field{
		{FieldInBytes, ctr},
		{FieldInPkts, ctr},
		{FieldProtocol, 1},
		{FieldL4SrcPort, 2},
		{FieldL4DstPort, 2},
		{src, al},
		{dst, al},
		{FieldInputSNMP, ifl},
		{FieldOutputSNMP, ifl},
		{FieldSrcAS, 4},
		{FieldDstAS, 4},
	}}
	if withDirection {
		t.Fields = append(t.Fields, Field{FieldDirection, 1})
	}
	return t
}

func putUint(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

func appendZeros(b []byte, n int) []byte {
	var zeros [64]byte
	for n > len(zeros) {
		b = append(b, zeros[:]...)
		n -= len(zeros)
	}
	return append(b, zeros[:n]...)
}

func fits(v uint64, n uint16) bool { return n >= 8 || v>>(8*uint(n)) == 0 }

// appendFlowRecord writes f as one data record of t.
func appendFlowRecord(dst []byte, t Template, f *Flow) ([]byte, error) {
	for _, fd := range t.Fields {
		start := len(dst)
		dst = appendZeros(dst, int(fd.Length))
		b := dst[start:]
		var v uint64
		switch fd.Type {
		case FieldInBytes:
			v = f.Bytes
		case FieldInPkts:
			v = f.Packets
		case FieldProtocol:
			v = uint64(f.Proto)
		case FieldL4SrcPort:
			v = uint64(f.SrcPort)
		case FieldL4DstPort:
			v = uint64(f.DstPort)
		case FieldInputSNMP:
			v = uint64(f.InIf)
		case FieldOutputSNMP:
			v = uint64(f.OutIf)
		case FieldSrcAS:
			v = uint64(f.SrcAS)
		case FieldDstAS:
			v = uint64(f.DstAS)
		case FieldDirection:
			if f.Egress {
				v = 1
			}
		case FieldIPv4SrcAddr, FieldIPv4DstAddr, FieldIPv6SrcAddr, FieldIPv6DstAddr:
			a := f.SrcAddr
			if fd.Type == FieldIPv4DstAddr || fd.Type == FieldIPv6DstAddr {
				a = f.DstAddr
			}
			want := 4
			if fd.Type == FieldIPv6SrcAddr || fd.Type == FieldIPv6DstAddr {
				want = 16
			}
			if a.BitLen()/8 != want || int(fd.Length) != want {
				return dst, fmt.Errorf("field %d: address %v does not fit %d bytes", fd.Type, a, fd.Length)
			}
			copy(b, a.AsSlice())
			continue
		default:
			return dst, fmt.Errorf("field %d: not written by flowgen", fd.Type)
		}
		if !fits(v, fd.Length) {
			return dst, fmt.Errorf("field %d: value %d does not fit %d bytes", fd.Type, v, fd.Length)
		}
		putUint(b, v)
	}
	return dst, nil
}

func finishSet(b []byte, pad bool) []byte {
	if pad {
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// TemplateSet encodes data templates: FlowSet 0 for v9, Set 2 for IPFIX.
func TemplateSet(version uint16, ts ...Template) Set {
	id := uint16(0)
	if version == 10 {
		id = 2
	}
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0, 0)
	for _, t := range ts {
		b = binary.BigEndian.AppendUint16(b, t.ID)
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Fields)))
		for _, f := range t.Fields {
			b = binary.BigEndian.AppendUint16(b, f.Type)
			b = binary.BigEndian.AppendUint16(b, f.Length)
		}
	}
	return Set{ID: id, Records: len(ts), Bytes: finishSet(b, false)}
}

// OptionsTemplateSet encodes options templates: FlowSet 1 for v9 (scope and
// option lengths in bytes), Set 3 for IPFIX (field count and scope field count).
func OptionsTemplateSet(version uint16, ts ...OptionsTemplate) Set {
	id := uint16(1)
	if version == 10 {
		id = 3
	}
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0, 0)
	for _, t := range ts {
		b = binary.BigEndian.AppendUint16(b, t.ID)
		if version == 10 {
			b = binary.BigEndian.AppendUint16(b, uint16(len(t.Scopes)+len(t.Options)))
			b = binary.BigEndian.AppendUint16(b, uint16(len(t.Scopes)))
		} else {
			b = binary.BigEndian.AppendUint16(b, uint16(4*len(t.Scopes)))
			b = binary.BigEndian.AppendUint16(b, uint16(4*len(t.Options)))
		}
		for _, f := range append(append([]Field(nil), t.Scopes...), t.Options...) {
			b = binary.BigEndian.AppendUint16(b, f.Type)
			b = binary.BigEndian.AppendUint16(b, f.Length)
		}
	}
	// v9 pads options template FlowSets to 4 bytes (RFC 3954 §6.1).
	return Set{ID: id, Records: len(ts), Bytes: finishSet(b, version == 9)}
}

// OptionsDataSet encodes options data records of t.
func OptionsDataSet(version uint16, t OptionsTemplate, recs ...OptionsRecord) (Set, error) {
	b := binary.BigEndian.AppendUint16(nil, t.ID)
	b = append(b, 0, 0)
	for _, r := range recs {
		if len(r.Scopes) != len(t.Scopes) || len(r.Options) != len(t.Options) {
			return Set{}, fmt.Errorf("options record for template %d: %d scopes and %d options, template has %d and %d",
				t.ID, len(r.Scopes), len(r.Options), len(t.Scopes), len(t.Options))
		}
		for i, f := range append(append([]Field(nil), t.Scopes...), t.Options...) {
			v := append(append([]uint64(nil), r.Scopes...), r.Options...)[i]
			if !fits(v, f.Length) {
				return Set{}, fmt.Errorf("options field %d: value %d does not fit %d bytes", f.Type, v, f.Length)
			}
			start := len(b)
			b = appendZeros(b, int(f.Length))
			putUint(b[start:], v)
		}
	}
	return Set{ID: t.ID, Records: len(recs), Bytes: finishSet(b, version == 9)}, nil
}

// DataSet encodes flows as data records of t. v9 FlowSets are padded to 4
// bytes; the padding is shorter than a record, as RFC 3954 requires.
func DataSet(version uint16, t Template, flows []Flow) (Set, error) {
	if t.ID < 256 {
		return Set{}, fmt.Errorf("data set: template id %d below 256", t.ID)
	}
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 4+len(flows)*t.Size()+3), t.ID)
	b = append(b, 0, 0)
	var err error
	for i := range flows {
		if b, err = appendFlowRecord(b, t, &flows[i]); err != nil {
			return Set{}, fmt.Errorf("data set %d record %d: %w", t.ID, i, err)
		}
	}
	return Set{ID: t.ID, Records: len(flows), Bytes: finishSet(b, version == 9)}, nil
}

// V9Header is the NetFlow v9 packet header; Count is computed by EncodeV9.
type V9Header struct {
	SysUptime uint32 // ms
	UnixSecs  uint32
	Sequence  uint32 // packets sent by this exporter and source id
	SourceID  uint32
}

// EncodeV9 appends a NetFlow v9 packet holding sets to dst. Count is the
// number of records (templates, options, data) as RFC 3954 defines it.
func EncodeV9(dst []byte, h V9Header, sets ...Set) []byte {
	count, n := 0, 20
	for _, s := range sets {
		count += s.Records
		n += len(s.Bytes)
	}
	dst = slices.Grow(dst, n)
	dst = binary.BigEndian.AppendUint16(dst, 9)
	dst = binary.BigEndian.AppendUint16(dst, uint16(count))
	dst = binary.BigEndian.AppendUint32(dst, h.SysUptime)
	dst = binary.BigEndian.AppendUint32(dst, h.UnixSecs)
	dst = binary.BigEndian.AppendUint32(dst, h.Sequence)
	dst = binary.BigEndian.AppendUint32(dst, h.SourceID)
	for _, s := range sets {
		dst = append(dst, s.Bytes...)
	}
	return dst
}

// IPFIXHeader is the IPFIX message header; Length is computed by EncodeIPFIX.
type IPFIXHeader struct {
	ExportTime          uint32
	Sequence            uint32 // data records sent before this message in the domain
	ObservationDomainID uint32
}

// EncodeIPFIX appends an IPFIX message holding sets to dst.
func EncodeIPFIX(dst []byte, h IPFIXHeader, sets ...Set) ([]byte, error) {
	n := 16
	for _, s := range sets {
		n += len(s.Bytes)
	}
	if n > 0xffff {
		return dst, fmt.Errorf("ipfix message of %d bytes exceeds 65535", n)
	}
	dst = slices.Grow(dst, n)
	dst = binary.BigEndian.AppendUint16(dst, 10)
	dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	dst = binary.BigEndian.AppendUint32(dst, h.ExportTime)
	dst = binary.BigEndian.AppendUint32(dst, h.Sequence)
	dst = binary.BigEndian.AppendUint32(dst, h.ObservationDomainID)
	for _, s := range sets {
		dst = append(dst, s.Bytes...)
	}
	return dst, nil
}

// V5Header is the NetFlow v5 header; Count is computed by EncodeV5.
type V5Header struct {
	SysUptime        uint32
	UnixSecs         uint32
	UnixNsecs        uint32
	FlowSequence     uint32 // records sent before this packet
	EngineType       uint8
	EngineID         uint8
	SamplingInterval uint16 // see V5Sampling
}

// V5Sampling is the v5 sampling_interval field for a packet-interval rate:
// mode 01 in the top two bits, the rate in the low 14. Rate 0 means none.
func V5Sampling(rate uint32) (uint16, error) {
	if rate == 0 {
		return 0, nil
	}
	if rate >= 1<<14 {
		return 0, fmt.Errorf("v5 sampling rate %d does not fit 14 bits", rate)
	}
	return 1<<14 | uint16(rate), nil
}

// EncodeV5 appends a NetFlow v5 packet of at most 30 IPv4 flows to dst.
func EncodeV5(dst []byte, h V5Header, flows []Flow) ([]byte, error) {
	if len(flows) > 30 {
		return dst, fmt.Errorf("v5 packet: %d flows, at most 30", len(flows))
	}
	dst = slices.Grow(dst, 24+48*len(flows))
	dst = binary.BigEndian.AppendUint16(dst, 5)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(flows)))
	dst = binary.BigEndian.AppendUint32(dst, h.SysUptime)
	dst = binary.BigEndian.AppendUint32(dst, h.UnixSecs)
	dst = binary.BigEndian.AppendUint32(dst, h.UnixNsecs)
	dst = binary.BigEndian.AppendUint32(dst, h.FlowSequence)
	dst = append(dst, h.EngineType, h.EngineID)
	dst = binary.BigEndian.AppendUint16(dst, h.SamplingInterval)
	for i := range flows {
		f := &flows[i]
		if !f.SrcAddr.Is4() || !f.DstAddr.Is4() {
			return dst, fmt.Errorf("v5 record %d: not IPv4", i)
		}
		if f.InIf > 0xffff || f.OutIf > 0xffff || f.SrcAS > 0xffff || f.DstAS > 0xffff ||
			f.Bytes > 0xffffffff || f.Packets > 0xffffffff {
			return dst, fmt.Errorf("v5 record %d: a value does not fit its v5 field", i)
		}
		s, d := f.SrcAddr.As4(), f.DstAddr.As4()
		dst = append(dst, s[:]...)
		dst = append(dst, d[:]...)
		dst = append(dst, 0, 0, 0, 0) // next hop
		dst = binary.BigEndian.AppendUint16(dst, uint16(f.InIf))
		dst = binary.BigEndian.AppendUint16(dst, uint16(f.OutIf))
		dst = binary.BigEndian.AppendUint32(dst, uint32(f.Packets))
		dst = binary.BigEndian.AppendUint32(dst, uint32(f.Bytes))
		dst = binary.BigEndian.AppendUint32(dst, h.SysUptime-1000) // first
		dst = binary.BigEndian.AppendUint32(dst, h.SysUptime)      // last
		dst = binary.BigEndian.AppendUint16(dst, f.SrcPort)
		dst = binary.BigEndian.AppendUint16(dst, f.DstPort)
		dst = append(dst, 0, 0x10, f.Proto, 0) // pad1, tcp flags, proto, tos
		dst = binary.BigEndian.AppendUint16(dst, uint16(f.SrcAS))
		dst = binary.BigEndian.AppendUint16(dst, uint16(f.DstAS))
		dst = append(dst, 24, 24, 0, 0) // masks, pad2
	}
	return dst, nil
}

// sFlow interface format bits (compact encoding, sFlow v5 §5).
const (
	SFlowIfDiscarded = 0x40000000 // value: the drop reason
	SFlowIfMultiple  = 0x80000000 // value: the number of interfaces
)

// SFlowGateway is an extended_gateway record (type 1003).
type SFlowGateway struct {
	NextHop   netip.Addr
	AS        uint32 // the router's own AS
	SrcAS     uint32
	SrcPeerAS uint32
	DstASPath []uint32 // one AS_SEQUENCE; its last AS is the destination AS
	LocalPref uint32
}

// SFlowSample is one flow sample with a raw packet header record and an
// optional extended gateway record.
type SFlowSample struct {
	Expanded      bool // format 3 (expanded) instead of 1 (compact)
	Sequence      uint32
	SourceIDIndex uint32 // source id type 0 (ifIndex)
	SamplingRate  uint32
	SamplePool    uint32
	Drops         uint32
	// Input and Output in the compact encoding: format in the top two bits.
	// The expanded format splits them into format and value.
	Input, Output uint32
	Header        []byte // the sampled frame's first bytes (header protocol 1, Ethernet)
	FrameLength   uint32 // original frame length, FCS included
	Stripped      uint32 // bytes removed from the frame before sampling (the FCS)
	Gateway       *SFlowGateway
}

// SFlowDatagram is an sFlow v5 datagram of flow samples.
type SFlowDatagram struct {
	Agent      netip.Addr
	SubAgentID uint32
	Sequence   uint32
	Uptime     uint32 // ms
	Samples    []SFlowSample
}

func appendXDRAddr(dst []byte, a netip.Addr) ([]byte, error) {
	switch {
	case a.Is4():
		dst = binary.BigEndian.AppendUint32(dst, 1)
	case a.Is6():
		dst = binary.BigEndian.AppendUint32(dst, 2)
	default:
		return dst, errors.New("invalid address")
	}
	return append(dst, a.AsSlice()...), nil
}

// EncodeSFlow appends an sFlow v5 datagram to dst.
func EncodeSFlow(dst []byte, d SFlowDatagram) ([]byte, error) {
	var err error
	size := 40
	for i := range d.Samples {
		size += 140 + len(d.Samples[i].Header)
	}
	dst = slices.Grow(dst, size)
	dst = binary.BigEndian.AppendUint32(dst, 5)
	if dst, err = appendXDRAddr(dst, d.Agent); err != nil {
		return dst, fmt.Errorf("sflow agent: %w", err)
	}
	dst = binary.BigEndian.AppendUint32(dst, d.SubAgentID)
	dst = binary.BigEndian.AppendUint32(dst, d.Sequence)
	dst = binary.BigEndian.AppendUint32(dst, d.Uptime)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(d.Samples)))
	for i := range d.Samples {
		if dst, err = appendSFlowSample(dst, &d.Samples[i]); err != nil {
			return dst, fmt.Errorf("sflow sample %d: %w", i, err)
		}
	}
	return dst, nil
}

func appendSFlowSample(dst []byte, s *SFlowSample) ([]byte, error) {
	format := uint32(1)
	if s.Expanded {
		format = 3
	}
	dst = binary.BigEndian.AppendUint32(dst, format)
	lenAt := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, s.Sequence)
	if s.Expanded {
		dst = binary.BigEndian.AppendUint32(dst, 0) // source id type
		dst = binary.BigEndian.AppendUint32(dst, s.SourceIDIndex)
	} else {
		if s.SourceIDIndex >= 1<<24 {
			return dst, fmt.Errorf("source id index %d does not fit 24 bits", s.SourceIDIndex)
		}
		dst = binary.BigEndian.AppendUint32(dst, s.SourceIDIndex)
	}
	dst = binary.BigEndian.AppendUint32(dst, s.SamplingRate)
	dst = binary.BigEndian.AppendUint32(dst, s.SamplePool)
	dst = binary.BigEndian.AppendUint32(dst, s.Drops)
	if s.Expanded {
		for _, v := range []uint32{s.Input, s.Output} {
			dst = binary.BigEndian.AppendUint32(dst, v>>30)
			dst = binary.BigEndian.AppendUint32(dst, v&0x3fffffff)
		}
	} else {
		dst = binary.BigEndian.AppendUint32(dst, s.Input)
		dst = binary.BigEndian.AppendUint32(dst, s.Output)
	}
	nrec := uint32(1)
	if s.Gateway != nil {
		nrec++
	}
	dst = binary.BigEndian.AppendUint32(dst, nrec)

	// Raw packet header record (type 1).
	dst = binary.BigEndian.AppendUint32(dst, 1)
	rl := 16 + (len(s.Header)+3)/4*4
	dst = binary.BigEndian.AppendUint32(dst, uint32(rl))
	dst = binary.BigEndian.AppendUint32(dst, 1) // header protocol: Ethernet
	dst = binary.BigEndian.AppendUint32(dst, s.FrameLength)
	dst = binary.BigEndian.AppendUint32(dst, s.Stripped)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s.Header)))
	dst = append(dst, s.Header...)
	for range (4 - len(s.Header)%4) % 4 {
		dst = append(dst, 0)
	}

	if g := s.Gateway; g != nil {
		dst = binary.BigEndian.AppendUint32(dst, 1003)
		glAt := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		gs := len(dst)
		var err error
		if dst, err = appendXDRAddr(dst, g.NextHop); err != nil {
			return dst, fmt.Errorf("gateway next hop: %w", err)
		}
		dst = binary.BigEndian.AppendUint32(dst, g.AS)
		dst = binary.BigEndian.AppendUint32(dst, g.SrcAS)
		dst = binary.BigEndian.AppendUint32(dst, g.SrcPeerAS)
		if len(g.DstASPath) == 0 {
			dst = binary.BigEndian.AppendUint32(dst, 0)
		} else {
			dst = binary.BigEndian.AppendUint32(dst, 1) // one segment
			dst = binary.BigEndian.AppendUint32(dst, 2) // AS_SEQUENCE
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(g.DstASPath)))
			for _, as := range g.DstASPath {
				dst = binary.BigEndian.AppendUint32(dst, as)
			}
		}
		dst = binary.BigEndian.AppendUint32(dst, 0) // communities
		dst = binary.BigEndian.AppendUint32(dst, g.LocalPref)
		binary.BigEndian.PutUint32(dst[glAt:], uint32(len(dst)-gs))
	}
	binary.BigEndian.PutUint32(dst[lenAt:], uint32(len(dst)-start))
	return dst, nil
}

// SampledFrame builds the Ethernet frame of one packet of f as an sFlow agent
// samples it: Ethernet, IPv4 or IPv6 (total length f.Bytes), TCP or UDP,
// zero payload. It returns the first snap bytes (FCS excluded) and the frame
// length with its 4-byte FCS. f.Bytes must hold the IP and transport headers.
func SampledFrame(f *Flow, snap int) (hdr []byte, frameLength uint32, err error) {
	l4 := 8
	if f.Proto == 6 {
		l4 = 20
	}
	var ip []byte
	ethType := uint16(0x0800)
	switch f.IPVersion() {
	case 4:
		if f.Bytes < uint64(20+l4) || f.Bytes > 0xffff {
			return nil, 0, fmt.Errorf("ipv4 total length %d out of range", f.Bytes)
		}
		ip = make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(f.Bytes))
		binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
		ip[8] = 64
		ip[9] = f.Proto
		s, d := f.SrcAddr.As4(), f.DstAddr.As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
		binary.BigEndian.PutUint16(ip[10:], ipv4Checksum(ip))
	case 6:
		if f.Bytes < uint64(40+l4) || f.Bytes > 0xffff+40 {
			return nil, 0, fmt.Errorf("ipv6 length %d out of range", f.Bytes)
		}
		ethType = 0x86dd
		ip = make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(f.Bytes-40))
		ip[6] = f.Proto
		ip[7] = 64
		s, d := f.SrcAddr.As16(), f.DstAddr.As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
	default:
		return nil, 0, errors.New("sampled frame: flow is not IP")
	}
	frame := make([]byte, 0, 14+len(ip)+l4)
	frame = append(frame, 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02) // dst, src MAC
	frame = binary.BigEndian.AppendUint16(frame, ethType)
	frame = append(frame, ip...)
	tr := make([]byte, l4)
	binary.BigEndian.PutUint16(tr[0:], f.SrcPort)
	binary.BigEndian.PutUint16(tr[2:], f.DstPort)
	if f.Proto == 6 {
		tr[12] = 5 << 4
		tr[13] = 0x10 // ACK
	} else {
		binary.BigEndian.PutUint16(tr[4:], uint16(f.Bytes)-uint16(len(ip)))
	}
	frame = append(frame, tr...)
	return snapFrame(frame, 14+int(f.Bytes), snap)
}

// ARPFrame is a sampled ARP request: a non-IP sample a collector must skip.
func ARPFrame(snap int) (hdr []byte, frameLength uint32, err error) {
	frame := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x03, 0x08, 0x06,
		0, 1, 0x08, 0, 6, 4, 0, 1, // Ethernet, IPv4, request
		0x02, 0, 0, 0, 0, 0x03, 192, 0, 2, 1,
		0, 0, 0, 0, 0, 0, 192, 0, 2, 2}
	return snapFrame(frame, len(frame), snap)
}

// snapFrame pads the frame to the Ethernet minimum, cuts the sampled part
// to snap bytes and adds the FCS to the frame length.
func snapFrame(start []byte, length, snap int) ([]byte, uint32, error) {
	if length < 60 {
		length = 60
	}
	n := min(length, snap)
	hdr := make([]byte, n)
	copy(hdr, start)
	return hdr, uint32(length + 4), nil
}

func ipv4Checksum(h []byte) uint16 {
	var s uint32
	for i := 0; i < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
