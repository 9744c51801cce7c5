package dispatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"time"

	"github.com/lastfluss/lastfluss/core/aggregate"
)

// The on-disk form of one batch:
//
//	"LFQBATCH" | version (uint16 LE) | body | CRC-32C of everything before (uint32 LE)
//
// The body is a sequence of uvarints, varints, single bytes and
// length-prefixed strings in the order of the aggregate.Batch fields. Slices
// and the AS-name map are written with count+1 so that nil (0) and empty (1)
// come back as they went in. A row takes about 15 to 25 bytes.
const (
	codecMagic   = "LFQBATCH"
	codecVersion = uint16(1)
	headerLen    = len(codecMagic) + 2
	trailerLen   = 4

	// Smallest encoded size of each repeated element, used to refuse counts
	// that the remaining bytes cannot hold before allocating for them.
	minRowLen          = 9 // 6 uvarints and 3 bytes
	minInterfaceLen    = 6 // 4 strings, 2 uvarints
	minUnclassifiedLen = 4 // 1 string, 3 uvarints
	minASInfoLen       = 4 // 1 uvarint, 3 strings
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is returned (wrapped) for data that is not a batch this version
// wrote: wrong magic or version, a bad checksum, truncated or inconsistent.
var ErrCorrupt = errors.New("corrupt batch")

// EncodeBatch appends the encoded form of b to dst and returns the extended
// slice.
func EncodeBatch(dst []byte, b *aggregate.Batch) []byte {
	estimate := headerLen + trailerLen + 64 + len(b.ID) + len(b.CollectorID) +
		len(b.Interfaces)*48 + len(b.Rows)*24 + len(b.Unclassified)*32 + len(b.ASNames)*40
	dst = slices.Grow(dst, estimate)
	start := len(dst)

	dst = append(dst, codecMagic...)
	dst = binary.LittleEndian.AppendUint16(dst, codecVersion)
	dst = appendString(dst, b.ID)
	dst = appendString(dst, b.CollectorID)
	dst = appendTime(dst, b.Start)
	dst = binary.AppendVarint(dst, int64(b.Interval))
	dst = append(dst, boolByte(b.Partial))

	dst = appendCount(dst, b.Interfaces == nil, len(b.Interfaces))
	for i := range b.Interfaces {
		iface := &b.Interfaces[i]
		dst = appendString(dst, iface.Exporter)
		dst = appendString(dst, iface.Name)
		dst = appendString(dst, iface.Role)
		dst = binary.AppendUvarint(dst, uint64(iface.IfIndex))
		dst = binary.AppendUvarint(dst, uint64(iface.PeerASN))
		dst = appendString(dst, iface.Description)
	}

	dst = appendCount(dst, b.Rows == nil, len(b.Rows))
	for i := range b.Rows {
		r := &b.Rows[i]
		dst = binary.AppendUvarint(dst, uint64(r.Interface))
		dst = append(dst, byte(r.Direction), r.IPVersion, boolByte(r.Other))
		dst = binary.AppendUvarint(dst, uint64(r.RemoteASN))
		dst = binary.AppendUvarint(dst, uint64(r.LocalASN))
		dst = binary.AppendUvarint(dst, r.Bytes)
		dst = binary.AppendUvarint(dst, r.Packets)
		dst = binary.AppendUvarint(dst, r.Flows)
	}

	dst = appendCount(dst, b.Unclassified == nil, len(b.Unclassified))
	for i := range b.Unclassified {
		u := &b.Unclassified[i]
		dst = appendString(dst, u.Exporter)
		dst = binary.AppendUvarint(dst, uint64(u.IfIndex))
		dst = binary.AppendUvarint(dst, u.Bytes)
		dst = binary.AppendUvarint(dst, u.Flows)
	}

	// Sorted so that equal batches encode to equal bytes.
	dst = appendCount(dst, b.ASNames == nil, len(b.ASNames))
	asns := make([]uint32, 0, len(b.ASNames))
	for asn := range b.ASNames {
		asns = append(asns, asn)
	}
	slices.Sort(asns)
	for _, asn := range asns {
		info := b.ASNames[asn]
		dst = binary.AppendUvarint(dst, uint64(asn))
		dst = appendString(dst, info.Name)
		dst = appendString(dst, info.Description)
		dst = appendString(dst, info.Country)
	}

	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], crcTable))
}

// DecodeBatch reads a batch written by EncodeBatch. Any damage is reported
// as an error wrapping ErrCorrupt.
func DecodeBatch(data []byte) (*aggregate.Batch, error) {
	if len(data) < headerLen+trailerLen {
		return nil, fmt.Errorf("%w: %d bytes is shorter than header and checksum", ErrCorrupt, len(data))
	}
	if string(data[:len(codecMagic)]) != codecMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, data[:len(codecMagic)])
	}
	if v := binary.LittleEndian.Uint16(data[len(codecMagic):]); v != codecVersion {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrCorrupt, v)
	}
	payload := data[:len(data)-trailerLen]
	want := binary.LittleEndian.Uint32(data[len(data)-trailerLen:])
	if got := crc32.Checksum(payload, crcTable); got != want {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	return decodeBody(payload[headerLen:])
}

func decodeBody(body []byte) (*aggregate.Batch, error) {
	d := decoder{buf: body}
	b := &aggregate.Batch{}
	b.ID = d.string()
	b.CollectorID = d.string()
	b.Start = d.time()
	b.Interval = time.Duration(d.varint())
	b.Partial = d.bool()

	if n, isNil := d.count(minInterfaceLen); !isNil {
		b.Interfaces = make([]aggregate.Interface, n)
		for i := range b.Interfaces {
			iface := &b.Interfaces[i]
			iface.Exporter = d.string()
			iface.Name = d.string()
			iface.Role = d.string()
			iface.IfIndex = d.uint32()
			iface.PeerASN = d.uint32()
			iface.Description = d.string()
		}
	}

	if n, isNil := d.count(minRowLen); !isNil {
		b.Rows = make([]aggregate.Row, n)
		for i := range b.Rows {
			if d.err != nil {
				break
			}
			r := &b.Rows[i]
			r.Interface = d.uint32()
			r.Direction = aggregate.Direction(d.byte())
			r.IPVersion = d.byte()
			r.Other = d.bool()
			r.RemoteASN = d.uint32()
			r.LocalASN = d.uint32()
			r.Bytes = d.uvarint()
			r.Packets = d.uvarint()
			r.Flows = d.uvarint()
		}
	}

	if n, isNil := d.count(minUnclassifiedLen); !isNil {
		b.Unclassified = make([]aggregate.Unclassified, n)
		for i := range b.Unclassified {
			u := &b.Unclassified[i]
			u.Exporter = d.string()
			u.IfIndex = d.uint32()
			u.Bytes = d.uvarint()
			u.Flows = d.uvarint()
		}
	}

	if n, isNil := d.count(minASInfoLen); !isNil {
		b.ASNames = make(map[uint32]aggregate.ASInfo, n)
		for range n {
			asn := d.uint32()
			info := aggregate.ASInfo{Name: d.string(), Description: d.string(), Country: d.string()}
			if d.err != nil {
				break
			}
			if _, dup := b.ASNames[asn]; dup {
				d.fail("AS name for AS%d twice", asn)
				break
			}
			b.ASNames[asn] = info
		}
	}

	if d.err == nil && d.off != len(d.buf) {
		d.fail("%d bytes after the batch", len(d.buf)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	return b, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendCount(dst []byte, isNil bool, n int) []byte {
	if isNil {
		return append(dst, 0)
	}
	return binary.AppendUvarint(dst, uint64(n)+1)
}

// appendTime keeps the instant and, for anything but UTC, the zone's
// offset and abbreviation.
func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	dst = binary.AppendUvarint(dst, uint64(t.Nanosecond()))
	if t.Location() == time.UTC {
		return append(dst, 0)
	}
	name, offset := t.Zone()
	dst = append(dst, 1)
	dst = binary.AppendVarint(dst, int64(offset))
	return appendString(dst, name)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// decoder reads the body; the first error sticks and later reads return
// zero values, so that callers check once at the end.
type decoder struct {
	buf []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", ErrCorrupt, headerLen+d.off, fmt.Sprintf(format, args...))
	}
	d.off = len(d.buf)
}

func (d *decoder) uvarint() uint64 {
	// Most values in a batch fit one byte.
	if d.off < len(d.buf) && d.buf[d.off] < 0x80 {
		v := d.buf[d.off]
		d.off++
		return uint64(v)
	}
	v, n := binary.Uvarint(d.buf[d.off:])
	if n <= 0 {
		d.fail("bad or truncated uvarint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.buf[d.off:])
	if n <= 0 {
		d.fail("bad or truncated varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) uint32() uint32 {
	v := d.uvarint()
	if v > math.MaxUint32 {
		d.fail("value %d does not fit 32 bits", v)
		return 0
	}
	return uint32(v)
}

func (d *decoder) byte() byte {
	if d.off >= len(d.buf) {
		d.fail("truncated")
		return 0
	}
	v := d.buf[d.off]
	d.off++
	return v
}

func (d *decoder) bool() bool {
	switch v := d.byte(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("boolean byte %d", v)
		return false
	}
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.buf)-d.off) {
		d.fail("string of %d bytes, %d left", n, len(d.buf)-d.off)
		return ""
	}
	s := string(d.buf[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

// count reads a count+1 prefix; 0 stands for a nil slice or map.
func (d *decoder) count(minLen int) (n int, isNil bool) {
	v := d.uvarint()
	if d.err != nil {
		return 0, true
	}
	if v == 0 {
		return 0, true
	}
	v--
	if v > uint64((len(d.buf)-d.off)/minLen) {
		d.fail("%d elements cannot fit in the %d bytes left", v, len(d.buf)-d.off)
		return 0, true
	}
	return int(v), false
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= uint64(time.Second) {
		d.fail("nanoseconds %d out of range", nsec)
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	switch zone := d.byte(); zone {
	case 0:
		return t.UTC()
	case 1:
		offset := d.varint()
		if offset < -24*3600 || offset > 24*3600 {
			d.fail("zone offset %d out of range", offset)
			return time.Time{}
		}
		name := d.string()
		return t.In(time.FixedZone(name, int(offset)))
	default:
		d.fail("zone kind %d", zone)
		return time.Time{}
	}
}
