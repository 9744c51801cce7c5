package collector_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lastfluss/lastfluss/core/aggregate"
	"github.com/lastfluss/lastfluss/core/classify"
	"github.com/lastfluss/lastfluss/core/config"
	"github.com/lastfluss/lastfluss/core/decode"
)

// The streams pmacctd's nfprobe and softflowd sent to Lastfluss in the
// check by hand (testdata/pmacct/README.md), with the totals that Lastfluss,
// pmacctd's own print plugin, nfacctd and the capture agreed on.
const capturesDir = "../../testdata/pmacct/captures"

type captureTotals struct {
	Records           uint64            `json:"records"`
	UnclassifiedBytes map[string]uint64 `json:"unclassified_bytes"`
	DecodeErrors      map[string]uint64 `json:"decode_errors"`
	Rows              []captureRow      `json:"rows"`
}

type captureRow struct {
	IfIndex   uint32 `json:"ifindex"`
	Direction string `json:"direction"`
	RemoteASN uint32 `json:"remote_asn"`
	LocalASN  uint32 `json:"local_asn"`
	IPVersion uint8  `json:"ip_version"`
	Bytes     uint64 `json:"bytes"`
	Packets   uint64 `json:"packets"`
}

// TestRealExporterCaptures replays each capture through the decoder, the
// classifier and the aggregation and compares with the agreed totals.
func TestRealExporterCaptures(t *testing.T) {
	pcaps, err := filepath.Glob(filepath.Join(capturesDir, "*.pcap"))
	if err != nil || len(pcaps) == 0 {
		t.Fatalf("no captures in %s: %v", capturesDir, err)
	}
	cfg := &config.Config{Exporters: []config.Exporter{{
		Name: "probe", Address: netip.MustParseAddr("127.0.0.1"), LocalASN: 64500, Records: config.RecordsIngress,
		Interfaces: []config.Interface{
			{Name: "peer-64501", IfIndex: 5, Role: "peering"},
			{Name: "transit", IfIndex: 6, Role: "transit"},
		},
	}}}
	for _, pcap := range pcaps {
		name := strings.TrimSuffix(filepath.Base(pcap), ".pcap")
		t.Run(name, func(t *testing.T) {
			var want captureTotals
			data, err := os.ReadFile(strings.TrimSuffix(pcap, ".pcap") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			reg := aggregate.NewRegistry()
			tab := classify.NewTable(cfg, reg, nil)
			e := tab.Exporter(netip.MustParseAddr("127.0.0.1"))
			var batches []*aggregate.Batch
			m := aggregate.NewMerger(discard, aggregate.DefaultConfiguration(), reg, func(b *aggregate.Batch) { batches = append(batches, b) })
			w := m.AddWorker()
			shard := m.NewShard(time.Unix(0, 0))
			dec := decode.NewFastNetFlow(decode.NewTemplates())
			errs := make(map[string]uint64)
			for _, d := range readPcap(t, pcap) {
				var recs []decode.Record
				_, err := dec.Decode(d.payload, d.src, func(r *decode.Record) { recs = append(recs, *r) })
				if err != nil {
					var de *decode.Error
					if !errors.As(err, &de) {
						t.Fatalf("decode error without a reason: %v", err)
					}
					errs[de.Reason]++
				}
				for i := range recs {
					e.Classify(discard, &recs[i], shard)
				}
			}
			m.Hand(w, shard)

			got := captureTotals{Records: e.Counters.Flows.Load(), UnclassifiedBytes: map[string]uint64{}, DecodeErrors: errs}
			for _, b := range batches {
				for _, r := range b.Rows {
					got.Rows = append(got.Rows, captureRow{
						IfIndex: b.Interfaces[r.Interface].IfIndex, Direction: r.Direction.String(),
						RemoteASN: r.RemoteASN, LocalASN: r.LocalASN, IPVersion: r.IPVersion, Bytes: r.Bytes, Packets: r.Packets,
					})
				}
				for _, u := range b.Unclassified {
					got.UnclassifiedBytes[strconv.FormatUint(uint64(u.IfIndex), 10)] += u.Bytes
				}
			}
			sortRows := cmp.Transformer("sort", func(rows []captureRow) map[captureRow]bool {
				m := make(map[captureRow]bool)
				for _, r := range rows {
					m[r] = true
				}
				return m
			})
			if diff := cmp.Diff(got, want, sortRows); diff != "" {
				t.Errorf("totals (-got +want):\n%s", diff)
			}
		})
	}
}

type datagram struct {
	src     netip.AddrPort
	payload []byte
}

// readPcap returns the UDP payloads of an Ethernet pcap file.
func readPcap(t *testing.T, path string) []datagram {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 24 || binary.LittleEndian.Uint32(data) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(data[20:]) != 1 {
		t.Fatalf("%s: not a little-endian Ethernet pcap", path)
	}
	var out []datagram
	for off := 24; off+16 <= len(data); {
		n := int(binary.LittleEndian.Uint32(data[off+8:]))
		frame := data[off+16 : off+16+n]
		off += 16 + n
		if len(frame) < 14 {
			continue
		}
		ip := frame[14:]
		var src netip.Addr
		var udp []byte
		switch binary.BigEndian.Uint16(frame[12:]) {
		case 0x0800:
			if ip[9] != 17 {
				continue
			}
			src = netip.AddrFrom4([4]byte(ip[12:16]))
			udp = ip[int(ip[0]&0x0f)*4:]
		case 0x86dd:
			if ip[6] != 17 {
				continue
			}
			src = netip.AddrFrom16([16]byte(ip[8:24]))
			udp = ip[40:]
		default:
			continue
		}
		out = append(out, datagram{
			src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(udp)),
			payload: udp[8:binary.BigEndian.Uint16(udp[4:])],
		})
	}
	return out
}
