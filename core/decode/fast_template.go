package decode

import (
	"encoding/binary"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// Template kinds, as the store keeps them.
const (
	kindDataTemplate uint8 = iota + 1
	kindNFv9OptionsTemplate
	kindIPFIXOptionsTemplate
)

// variableLength is the field length that announces an IPFIX
// variable-length field. goflow2 treats it so in NetFlow v9 too.
const variableLength = 0xffff

// compiledTemplate is a template compiled for the fast decoder when the store
// learns it: the fields with the slot Lastfluss reads them into and, for a
// data template of fixed-length fields, where each needed element lies in a
// record. Immutable once stored.
type compiledTemplate struct {
	kind    uint8
	nScopes int    // fields[:nScopes] are scope fields (options templates)
	raw     []byte // the fields as on the wire, to tell a refresh without decoding it
	canon   bool   // raw is how the template comes on the wire (not so for odd restored files)

	fields     []cfield
	scopeFixed int // octets of the fixed-length fields of the scopes
	optFixed   int // of the other fields (data templates: all)
	variable   bool

	// Data templates without variable-length fields.
	size int // record length
	lay  layout
}

type cfield struct {
	length uint16
	slot   int8 // -1: not read
}

// loc is where an element lies in a fixed-length record: it ends end
// octets into the record and is read as the 8 octets before its end, masked
// to its length (the datagram's header always precedes a record, so those
// octets exist). Longer elements keep their low 64 bits, as beUint does.
// n == 0: absent (templates with fields of length 0 are refused).
type loc struct {
	end  uint32
	n    uint16
	mask uint64
}

func newLoc(off uint32, n uint16) loc {
	mask := ^uint64(0)
	if n < 8 {
		mask = 1<<(8*n) - 1
	}
	return loc{end: off + uint32(n), n: n, mask: mask}
}

// chunks splits a field into 8-octet pieces, to tell whether it is zero.
func (l loc) chunks() []loc {
	var out []loc
	for start := l.end - uint32(l.n); ; {
		n := min(l.end-start, 8)
		out = append(out, newLoc(start, uint16(n)))
		if start += n; start >= l.end {
			return out
		}
	}
}

// layout holds the locations of the first occurrence of every element
// Lastfluss reads, resolved at compile time along the same fallbacks the
// reference decoder applies per record.
type layout struct {
	bytes, packets                     loc // 1, else 23, else 85; 2, else 24, else 86
	in, inPhys, out, outPhys           loc
	srcAS, dstAS, ipVersion, direction loc
	sampler                            loc // 48, else 302
	rate34, rate50, rate305, rate306   loc
	v4, v6                             []loc // every IPv4 (8, 12) and IPv6 (27, 28) address field, in chunks
	hasRate                            bool  // the record may carry its own rate
	hasSampler                         bool
}

// compileTemplate compiles a template as goflow2 decodes it (or as the
// state file restores it).
func compileTemplate(version uint16, tmpl any) *compiledTemplate {
	c := &compiledTemplate{canon: true}
	var groups [2][]netflow.Field
	switch v := tmpl.(type) {
	case netflow.TemplateRecord:
		c.kind = kindDataTemplate
		groups[1] = v.Fields
	case netflow.NFv9OptionsTemplateRecord:
		c.kind = kindNFv9OptionsTemplate
		groups[0], groups[1] = v.Scopes, v.Options
	case netflow.IPFIXOptionsTemplateRecord:
		c.kind = kindIPFIXOptionsTemplate
		groups[0], groups[1] = v.Scopes, v.Options
	default:
		return c
	}
	c.nScopes = len(groups[0])
	for g, fs := range groups {
		for _, fl := range fs {
			c.raw = c.appendRaw(version, c.raw, fl)
			slot := int8(-1)
			if !fl.PenProvided && int(fl.Type) < len(slotOf) {
				slot = int8(slotOf[fl.Type]) - 1
			}
			c.fields = append(c.fields, cfield{length: fl.Length, slot: slot})
			switch {
			case fl.Length == variableLength:
				c.variable = true
			case g == 0:
				c.scopeFixed += int(fl.Length)
			default:
				c.optFixed += int(fl.Length)
			}
		}
	}
	if c.kind == kindDataTemplate && !c.variable {
		c.compileLayout()
	}
	return c
}

// appendRaw appends a field as the wire carries it.
func (c *compiledTemplate) appendRaw(version uint16, b []byte, fl netflow.Field) []byte {
	typ := fl.Type
	switch {
	case version != 10 || c.kind == kindNFv9OptionsTemplate:
		c.canon = c.canon && !fl.PenProvided
	case c.kind == kindDataTemplate:
		// goflow2 strips the enterprise bit of data template fields.
		c.canon = c.canon && typ&0x8000 == 0
		if fl.PenProvided {
			typ |= 0x8000
		}
	default:
		// and keeps it in options templates.
		c.canon = c.canon && fl.PenProvided == (typ&0x8000 != 0)
	}
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, fl.Length)
	if fl.PenProvided && version == 10 {
		b = binary.BigEndian.AppendUint32(b, fl.Pen)
	}
	return b
}

func (c *compiledTemplate) compileLayout() {
	var first [nSlots]loc
	l := &c.lay
	off := uint32(0)
	for _, fl := range c.fields {
		at := newLoc(off, fl.length)
		off += uint32(fl.length)
		switch s := int(fl.slot); {
		case s < 0:
		case s == sIPv4Addr:
			l.v4 = append(l.v4, at.chunks()...)
		case s == sIPv6Addr:
			l.v6 = append(l.v6, at.chunks()...)
		case first[s].n == 0:
			first[s] = at
		}
	}
	c.size = int(off)
	pick := func(slots ...int) loc {
		for _, s := range slots {
			if first[s].n != 0 {
				return first[s]
			}
		}
		return loc{}
	}
	l.bytes = pick(sBytes, sBytesOut, sBytesTotal)
	l.packets = pick(sPackets, sPacketsOut, sPacketsTotal)
	l.in, l.inPhys = first[sIn], first[sInPhys]
	l.out, l.outPhys = first[sOut], first[sOutPhys]
	l.srcAS, l.dstAS = first[sSrcAS], first[sDstAS]
	l.ipVersion, l.direction = first[sIPVersion], first[sDirection]
	l.sampler = pick(sSamplerID, sSelectorID)
	l.rate34, l.rate50 = first[sSamplingInterval], first[sSamplerRandomInterval]
	l.rate305, l.rate306 = first[sPacketInterval], first[sPacketSpace]
	l.hasRate = l.rate34.n != 0 || l.rate50.n != 0 || (l.rate305.n != 0 && l.rate306.n != 0)
	l.hasSampler = l.sampler.n != 0
}

// get reads the element at l of the record starting at base in pkt, 0 when
// absent.
func (l loc) get(pkt []byte, base int) uint64 {
	end := base + int(l.end)
	return binary.BigEndian.Uint64(pkt[end-8:end]) & l.mask
}
