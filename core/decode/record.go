// Package decode turns flow datagrams (NetFlow v5, v9, IPFIX, sFlow v5) into
// records carrying just the fields Lastfluss counts.
package decode

import "net/netip"

// Direction is what an exporter says about a record (IPFIX/v9 field 61).
type Direction uint8

const (
	DirectionUnknown Direction = iota // the exporter said nothing
	DirectionIngress
	DirectionEgress
)

// Record is one flow record, unscaled, as the exporter sent it. Decoders
// reuse one Record for every call of emit: a consumer must not keep it.
type Record struct {
	Bytes        uint64 // layer-3 octets (sFlow: IP total length of the sampled header)
	Packets      uint64
	SamplingRate uint32 // announced by the exporter for this record; 0 when none
	InIf, OutIf  uint32 // 0 when absent or not an ifIndex (sFlow format bits)
	SrcAS, DstAS uint32
	IPVersion    uint8 // 4 or 6; 0 when not IP
	Direction    Direction
}

// Decoder decodes one datagram. A decoder belongs to one worker; decoders of
// the same protocol share a *Templates store.
type Decoder interface {
	// Decode decodes pkt, received from src, and calls emit once per flow
	// record. It returns the exporter the datagram belongs to (the UDP source
	// for NetFlow/IPFIX, the agent address for sFlow; IPv4-mapped addresses
	// unmapped) and, for a malformed datagram, an *Error. Records already
	// emitted before an error stay emitted.
	Decode(pkt []byte, src netip.AddrPort, emit func(*Record)) (netip.Addr, error)
}

// Error is a decoding failure with the reason it is counted under
// (lastfluss_decode_errors_total{reason}).
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string { return "decode: " + e.Reason + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Reasons a datagram is dropped.
const (
	ReasonShort           = "short"            // shorter than its header says
	ReasonVersion         = "version"          // unknown protocol version
	ReasonMalformed       = "malformed"        // a set, sample or field does not parse
	ReasonTemplateUnknown = "template_unknown" // data set before its template
)
