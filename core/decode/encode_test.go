package decode

import (
	"encoding/binary"
	"net/netip"
)

// Small encoders for the tests: just enough of each wire format to build
// the datagrams the decoders must read.

func be16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func be32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

// beN appends v as an n-octet big-endian integer (low octets of v; longer
// fields are zero-filled at the front).
func beN(b []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		if i >= 8 {
			b = append(b, 0)
			continue
		}
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// NetFlow v5.

type v5Rec struct {
	In, Out      uint16
	Pkts, Octets uint32
	SrcAS, DstAS uint16
}

func encodeV5(samplingInterval uint16, count int, recs ...v5Rec) []byte {
	if count < 0 {
		count = len(recs)
	}
	b := be16(nil, 5)
	b = be16(b, uint16(count))
	b = be32(b, 1000)       // sysuptime
	b = be32(b, 1700000000) // unix secs
	b = be32(b, 0)          // unix nsecs
	b = be32(b, 42)         // flow sequence
	b = append(b, 0, 0)     // engine type, id
	b = be16(b, samplingInterval)
	for _, r := range recs {
		b = be32(b, 0x0a000001) // src
		b = be32(b, 0x0a000002) // dst
		b = be32(b, 0)          // next hop
		b = be16(b, r.In)
		b = be16(b, r.Out)
		b = be32(b, r.Pkts)
		b = be32(b, r.Octets)
		b = be32(b, 0) // first
		b = be32(b, 0) // last
		b = be16(b, 1234)
		b = be16(b, 80)
		b = append(b, 0, 0x10, 6, 0) // pad, tcp flags, proto, tos
		b = be16(b, r.SrcAS)
		b = be16(b, r.DstAS)
		b = append(b, 24, 24, 0, 0) // masks, pad
	}
	return b
}

// NetFlow v9 and IPFIX.

type field struct {
	Type, Length uint16
	PEN          uint32 // IPFIX enterprise number; 0: none
}

func f(typ, length uint16) field { return field{Type: typ, Length: length} }

func appendFields(b []byte, version uint16, fields []field) []byte {
	for _, fl := range fields {
		if version == 10 && fl.PEN != 0 {
			b = be16(b, fl.Type|0x8000)
			b = be16(b, fl.Length)
			b = be32(b, fl.PEN)
			continue
		}
		b = be16(b, fl.Type)
		b = be16(b, fl.Length)
	}
	return b
}

func set(id uint16, body []byte) []byte {
	b := be16(nil, id)
	b = be16(b, uint16(4+len(body)))
	return append(b, body...)
}

// templateSet is a (data) template set with one template.
func templateSet(version, id uint16, fields ...field) []byte {
	setID := uint16(0)
	if version == 10 {
		setID = 2
	}
	b := be16(nil, id)
	b = be16(b, uint16(len(fields)))
	return set(setID, appendFields(b, version, fields))
}

func optionsTemplateSet(version, id uint16, scopes, options []field) []byte {
	b := be16(nil, id)
	if version == 9 {
		b = be16(b, uint16(4*len(scopes)))
		b = be16(b, uint16(4*len(options)))
		b = appendFields(b, version, scopes)
		b = appendFields(b, version, options)
		return set(1, b)
	}
	b = be16(b, uint16(len(scopes)+len(options)))
	b = be16(b, uint16(len(scopes)))
	b = appendFields(b, version, scopes)
	b = appendFields(b, version, options)
	return set(3, b)
}

// dataSet encodes records (one value per field, in field order) under the
// template id; variable-length fields are not supported here.
func dataSet(id uint16, fields []field, records ...[]uint64) []byte {
	var b []byte
	for _, r := range records {
		for i, fl := range fields {
			b = beN(b, r[i], int(fl.Length))
		}
	}
	return set(id, b)
}

func message(version uint16, domain uint32, sets ...[]byte) []byte {
	var b []byte
	if version == 9 {
		b = be16(nil, 9)
		b = be16(b, uint16(len(sets)))
		b = be32(b, 1000)
		b = be32(b, 1700000000)
		b = be32(b, 7)
		b = be32(b, domain)
	} else {
		b = be16(nil, 10)
		b = be16(b, 0) // length, below
		b = be32(b, 1700000000)
		b = be32(b, 7)
		b = be32(b, domain)
	}
	for _, s := range sets {
		b = append(b, s...)
	}
	if version == 10 {
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	}
	return b
}

// sFlow v5.

func sfDatagram(agent netip.Addr, samples ...[]byte) []byte {
	b := be32(nil, 5)
	if agent.Is4() {
		b = be32(b, 1)
		a := agent.As4()
		b = append(b, a[:]...)
	} else {
		b = be32(b, 2)
		a := agent.As16()
		b = append(b, a[:]...)
	}
	b = be32(b, 0)      // sub agent
	b = be32(b, 99)     // sequence
	b = be32(b, 123456) // uptime
	b = be32(b, uint32(len(samples)))
	for _, s := range samples {
		b = append(b, s...)
	}
	return b
}

func sfSample(format uint32, body []byte) []byte {
	b := be32(nil, format)
	b = be32(b, uint32(len(body)))
	return append(b, body...)
}

// sfFlowSample is a compact flow sample (format 1).
func sfFlowSample(rate, in, out uint32, records ...[]byte) []byte {
	b := be32(nil, 1)          // sequence
	b = be32(b, 0<<24|in&0xff) // source id
	b = be32(b, rate)
	b = be32(b, rate*10) // sample pool
	b = be32(b, 0)       // drops
	b = be32(b, in)
	b = be32(b, out)
	b = be32(b, uint32(len(records)))
	for _, r := range records {
		b = append(b, r...)
	}
	return sfSample(1, b)
}

// sfExpandedSample is an expanded flow sample (format 3).
func sfExpandedSample(rate, inFormat, in, outFormat, out uint32, records ...[]byte) []byte {
	b := be32(nil, 1) // sequence
	b = be32(b, 0)    // source id type
	b = be32(b, in)   // source id index
	b = be32(b, rate)
	b = be32(b, rate*10)
	b = be32(b, 0)
	b = be32(b, inFormat)
	b = be32(b, in)
	b = be32(b, outFormat)
	b = be32(b, out)
	b = be32(b, uint32(len(records)))
	for _, r := range records {
		b = append(b, r...)
	}
	return sfSample(3, b)
}

// sfCounterSample is a counter sample (format 2) with one generic interface
// counters record.
func sfCounterSample() []byte {
	rec := be32(nil, 7) // ifIndex
	rec = be32(rec, 6)  // ifType
	rec = append(rec, make([]byte, 8+4+4+8+4*7+8+4*6)...)
	b := be32(nil, 1)
	b = be32(b, 7)
	b = be32(b, 1)
	b = be32(b, 1) // record format: generic interface counters
	b = be32(b, uint32(len(rec)))
	b = append(b, rec...)
	return sfSample(2, b)
}

func sfRecord(format uint32, body []byte) []byte {
	b := be32(nil, format)
	b = be32(b, uint32(len(body)))
	return append(b, body...)
}

// sfRawHeader is a sampled header record (Ethernet).
func sfRawHeader(frameLen, stripped uint32, hdr []byte) []byte {
	b := be32(nil, 1) // header protocol: Ethernet
	b = be32(b, frameLen)
	b = be32(b, stripped)
	b = be32(b, uint32(len(hdr)))
	b = append(b, hdr...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return sfRecord(1, b)
}

// sfGateway is an extended gateway record: one AS_SEQUENCE segment.
func sfGateway(srcAS uint32, path ...uint32) []byte {
	b := be32(nil, 1) // next hop: IPv4
	b = append(b, 192, 0, 2, 254)
	b = be32(b, 64500) // router's own AS
	b = be32(b, srcAS)
	b = be32(b, srcAS) // src peer AS
	if len(path) == 0 {
		b = be32(b, 0)
	} else {
		b = be32(b, 1) // one segment
		b = be32(b, 2) // AS_SEQUENCE
		b = be32(b, uint32(len(path)))
		for _, as := range path {
			b = be32(b, as)
		}
	}
	b = be32(b, 0)   // communities
	b = be32(b, 100) // local pref
	return sfRecord(1003, b)
}

func ethHeader(etype uint16, vlans ...uint16) []byte {
	b := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	for i, v := range vlans {
		tpid := uint16(0x8100)
		if i == 0 && len(vlans) > 1 {
			tpid = 0x88a8
		}
		b = be16(b, tpid)
		b = be16(b, v)
	}
	return be16(b, etype)
}

// ethIPv4 is an Ethernet frame header with an IPv4 header of total length n,
// cut after 20 octets of IP header plus 8 of payload, as sampled.
func ethIPv4(n uint16, vlans ...uint16) []byte {
	b := ethHeader(0x0800, vlans...)
	b = append(b, 0x45, 0)
	b = be16(b, n)
	b = append(b, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2)
	return append(b, 0, 53, 0, 53, 0, 8, 0, 0)
}

// ethIPv6 is an Ethernet frame header with an IPv6 header of payload length n.
func ethIPv6(n uint16) []byte {
	b := ethHeader(0x86dd)
	b = append(b, 0x60, 0, 0, 0)
	b = be16(b, n)
	b = append(b, 17, 64)
	b = append(b, make([]byte, 32)...)
	return b
}

func ethARP() []byte {
	b := ethHeader(0x0806)
	return append(b, 0, 1, 8, 0, 6, 4, 0, 1)
}
