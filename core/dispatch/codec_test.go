package dispatch

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lastfluss/lastfluss/core/aggregate"
)

// checkRoundTrip encodes and decodes b and reports any difference.
func checkRoundTrip(t *testing.T, b *aggregate.Batch) {
	t.Helper()
	data := EncodeBatch(nil, b)
	got, err := DecodeBatch(data)
	if err != nil {
		t.Fatalf("DecodeBatch: %v", err)
	}
	diffBatch(t, got, b)
}

// diffBatch compares rows with slices.Equal first: cmp on a million rows
// that differ would take long to describe them all.
func diffBatch(t *testing.T, got, want *aggregate.Batch) {
	t.Helper()
	if !slices.Equal(got.Rows, want.Rows) || (got.Rows == nil) != (want.Rows == nil) {
		if len(got.Rows) != len(want.Rows) {
			t.Fatalf("%d rows, want %d", len(got.Rows), len(want.Rows))
		}
		for i := range got.Rows {
			if got.Rows[i] != want.Rows[i] {
				t.Fatalf("row %d (-got +want):\n%s", i, cmp.Diff(got.Rows[i], want.Rows[i]))
			}
		}
		t.Fatalf("rows: got nil %v, want nil %v", got.Rows == nil, want.Rows == nil)
	}
	g, w := *got, *want
	g.Rows, w.Rows = nil, nil
	if diff := cmp.Diff(g, w); diff != "" {
		t.Fatalf("batch (-got +want):\n%s", diff)
	}
	// cmp compares times with Equal; the location must survive too.
	if got.Start.Location().String() != want.Start.Location().String() {
		t.Fatalf("start location %s, want %s", got.Start.Location(), want.Start.Location())
	}
	gotName, gotOffset := got.Start.Zone()
	wantName, wantOffset := want.Start.Zone()
	if gotName != wantName || gotOffset != wantOffset {
		t.Fatalf("start zone %s%+d, want %s%+d", gotName, gotOffset, wantName, wantOffset)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	full := testBatch(batchID(1), 1000)
	full.Partial = true
	full.ASNames = map[uint32]aggregate.ASInfo{
		174:            {Name: "COGENT-174", Description: "Cogent Communications", Country: "US"},
		3320:           {Name: "DTAG", Country: "DE"},
		math.MaxUint32: {Name: "Grüße, 世界"},
	}
	maxRow := testBatch("max", 3)
	maxRow.Rows = []aggregate.Row{{
		Interface: math.MaxUint32, Direction: 255, RemoteASN: math.MaxUint32, LocalASN: math.MaxUint32,
		IPVersion: 255, Other: true, Bytes: math.MaxUint64, Packets: math.MaxUint64, Flows: math.MaxUint64,
	}}
	maxRow.Interval = math.MinInt64
	maxRow.Start = time.Unix(-1<<40, 999_999_999).UTC()

	tests := []struct {
		name  string
		batch *aggregate.Batch
	}{
		{"zero", &aggregate.Batch{}},
		{"empty but not nil", &aggregate.Batch{
			ID: "x", Interfaces: []aggregate.Interface{}, Rows: []aggregate.Row{},
			Unclassified: []aggregate.Unclassified{}, ASNames: map[uint32]aggregate.ASInfo{},
		}},
		{"full", full},
		{"extreme values", maxRow},
		{"fixed zone", &aggregate.Batch{ID: "z", Start: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))}},
		{"negative zone", &aggregate.Batch{ID: "z", Start: time.Date(1969, 1, 2, 3, 4, 5, 6, time.FixedZone("", -(9*3600+30*60)))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRoundTrip(t, tt.batch)
		})
	}
}

func TestCodecMillionRows(t *testing.T) {
	b := testBatch(batchID(1), 1_000_000)
	b.ASNames = map[uint32]aggregate.ASInfo{}
	for i := range uint32(100_000) {
		b.ASNames[i+1] = aggregate.ASInfo{Name: "AS-NAME", Country: "DE"}
	}
	data := EncodeBatch(nil, b)
	t.Logf("1,000,000 rows and 100,000 AS names: %d bytes (%.1f per row)", len(data), float64(len(data))/1e6)
	got, err := DecodeBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	diffBatch(t, got, b)
}

func TestCodecDeterministic(t *testing.T) {
	b := testBatch("d", 100)
	b.ASNames = map[uint32]aggregate.ASInfo{}
	for i := range uint32(1000) {
		b.ASNames[i] = aggregate.ASInfo{Name: "n"}
	}
	first := EncodeBatch(nil, b)
	for range 5 {
		if again := EncodeBatch(nil, b); !slices.Equal(again, first) {
			t.Fatal("the same batch encoded to different bytes")
		}
	}
}

// reseal recomputes the checksum so that damage inside the body reaches the
// body decoder.
func reseal(data []byte) []byte {
	body := data[:len(data)-trailerLen]
	return binary.LittleEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, crcTable))
}

func TestDecodeCorrupt(t *testing.T) {
	good := EncodeBatch(nil, testBatch("c", 10))
	tests := []struct {
		name string
		data []byte
		want string // in the message, so that it fails for the intended reason
	}{
		{"empty", nil, "shorter"},
		{"header only", good[:headerLen], "shorter"},
		{"truncated", good[:len(good)-1], "checksum"},
		{"truncated and resealed", reseal(good[:len(good)-5]), "truncated"},
		{"bad magic", append([]byte("XXXXXXXX"), good[8:]...), "magic"},
		{"other version", func() []byte {
			d := slices.Clone(good)
			d[8] = 2
			return d
		}(), "version"},
		{"flipped bit", func() []byte {
			d := slices.Clone(good)
			d[len(d)/2] ^= 0x10
			return d
		}(), "checksum"},
		{"trailing byte", reseal(append(slices.Clone(good[:len(good)-trailerLen]), 0, 0, 0, 0, 0)), "after the batch"},
		{"huge row count", reseal(func() []byte {
			// Header, then an empty ID, collector, zero time, interval,
			// partial, nil interfaces, and 2^40 rows.
			d := append([]byte(codecMagic), 1, 0)
			d = append(d, 0, 0, 0, 0, 0, 0, 0, 0)
			d = binary.AppendUvarint(d, 1<<40)
			return append(d, 0, 0, 0, 0)
		}()), "cannot fit"},
		{"bad bool", reseal(func() []byte {
			d := append([]byte(codecMagic), 1, 0)
			d = append(d, 0, 0, 0, 0, 0, 0, 7)
			return append(d, 0, 0, 0, 0, 0, 0, 0, 0)
		}()), "boolean"},
		{"duplicate AS name", reseal(func() []byte {
			d := append([]byte(codecMagic), 1, 0)
			d = append(d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
			d = append(d, 3, 5, 0, 0, 0, 5, 0, 0, 0)
			return append(d, 0, 0, 0, 0)
		}()), "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DecodeBatch(tt.data)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("DecodeBatch = %+v, %v; want an ErrCorrupt saying %q", b, err, tt.want)
			}
		})
	}
}

// FuzzDecodeBody feeds the body decoder behind a valid header and checksum:
// it must never panic, and what it accepts must encode back to the same
// batch.
func FuzzDecodeBody(f *testing.F) {
	for _, b := range []*aggregate.Batch{{}, testBatch("seed", 5)} {
		data := EncodeBatch(nil, b)
		f.Add(data[headerLen : len(data)-trailerLen])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data := append([]byte(codecMagic), 1, 0)
		data = reseal(append(append(data, body...), 0, 0, 0, 0))
		b, err := DecodeBatch(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not an ErrCorrupt", err)
			}
			return
		}
		again, err := DecodeBatch(EncodeBatch(nil, b))
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		diffBatch(t, again, b)
	})
}
