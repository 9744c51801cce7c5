package decode

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	agentA = netip.MustParseAddr("198.51.100.7")
	// sFlow agents often send from another address than the one they report.
	sflowSrc = netip.AddrPortFrom(netip.MustParseAddr("203.0.113.9"), 6343)
)

func TestSFlow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples [][]byte
		want    []Record
	}{
		{
			name: "ipv4 with gateway",
			samples: [][]byte{sfFlowSample(1000, 531, 7,
				sfRawHeader(1518, 4, ethIPv4(1500)), sfGateway(174, 3320, 64501))},
			want: []Record{{Bytes: 1500, Packets: 1, SamplingRate: 1000, InIf: 531, OutIf: 7, SrcAS: 174, DstAS: 64501, IPVersion: 4}},
		},
		{
			name:    "l3 length, not frame length",
			samples: [][]byte{sfFlowSample(512, 1, 2, sfRawHeader(1000, 4, ethIPv4(60)))},
			want:    []Record{{Bytes: 60, Packets: 1, SamplingRate: 512, InIf: 1, OutIf: 2, IPVersion: 4}},
		},
		{
			name:    "vlan tagged",
			samples: [][]byte{sfFlowSample(100, 1, 2, sfRawHeader(1000, 4, ethIPv4(978, 100)))},
			want:    []Record{{Bytes: 978, Packets: 1, SamplingRate: 100, InIf: 1, OutIf: 2, IPVersion: 4}},
		},
		{
			name:    "qinq tagged",
			samples: [][]byte{sfFlowSample(100, 1, 2, sfRawHeader(1000, 4, ethIPv4(974, 100, 200)))},
			want:    []Record{{Bytes: 974, Packets: 1, SamplingRate: 100, InIf: 1, OutIf: 2, IPVersion: 4}},
		},
		{
			name:    "ipv6",
			samples: [][]byte{sfFlowSample(100, 1, 2, sfRawHeader(1000, 4, ethIPv6(1000)))},
			want:    []Record{{Bytes: 1040, Packets: 1, SamplingRate: 100, InIf: 1, OutIf: 2, IPVersion: 6}},
		},
		{
			name: "ipv4 header cut before length: frame length less ethernet",
			samples: [][]byte{sfFlowSample(100, 1, 2,
				sfRawHeader(1518, 4, ethIPv4(1500)[:16]))},
			want: []Record{{Bytes: 1500, Packets: 1, SamplingRate: 100, InIf: 1, OutIf: 2, IPVersion: 4}},
		},
		{
			name:    "gateway without as path",
			samples: [][]byte{sfFlowSample(100, 1, 2, sfRawHeader(100, 4, ethIPv4(60)), sfGateway(174))},
			want:    []Record{{Bytes: 60, Packets: 1, SamplingRate: 100, InIf: 1, OutIf: 2, SrcAS: 174, IPVersion: 4}},
		},
		{
			name:    "non-ip sample emits nothing",
			samples: [][]byte{sfFlowSample(100, 1, 2, sfRawHeader(64, 4, ethARP()))},
		},
		{
			name:    "counter samples ignored",
			samples: [][]byte{sfCounterSample(), sfFlowSample(100, 1, 2, sfRawHeader(100, 4, ethIPv4(60))), sfCounterSample()},
			want:    []Record{{Bytes: 60, Packets: 1, SamplingRate: 100, InIf: 1, OutIf: 2, IPVersion: 4}},
		},
		{
			name: "compact format bits are not ifindexes",
			samples: [][]byte{
				sfFlowSample(100, 0x80000002, 0x40000001, sfRawHeader(100, 4, ethIPv4(60))),
				sfFlowSample(100, 5, 0x3fffffff, sfRawHeader(100, 4, ethIPv4(60))),
			},
			want: []Record{
				{Bytes: 60, Packets: 1, SamplingRate: 100, IPVersion: 4},
				{Bytes: 60, Packets: 1, SamplingRate: 100, InIf: 5, IPVersion: 4},
			},
		},
		{
			name: "expanded sample",
			samples: [][]byte{
				sfExpandedSample(4096, 0, 70000, 0, 80000, sfRawHeader(1518, 4, ethIPv4(1500)), sfGateway(64500, 15169)),
				sfExpandedSample(4096, 2, 3, 1, 1, sfRawHeader(1518, 4, ethIPv4(1500))),
			},
			want: []Record{
				{Bytes: 1500, Packets: 1, SamplingRate: 4096, InIf: 70000, OutIf: 80000, SrcAS: 64500, DstAS: 15169, IPVersion: 4},
				{Bytes: 1500, Packets: 1, SamplingRate: 4096, IPVersion: 4},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, exp, err := decodeAll(t, NewSFlow(), sfDatagram(agentA, tc.samples...), sflowSrc)
			if err != nil {
				t.Fatal(err)
			}
			if exp != agentA {
				t.Errorf("exporter = %v, want the agent %v", exp, agentA)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("records (-got +want):\n%s", diff)
			}
		})
	}
}

func TestSFlowAgentAddress(t *testing.T) {
	for _, tc := range []struct{ agent, want string }{
		{"2001:db8::1", "2001:db8::1"},
		{"::ffff:198.51.100.7", "198.51.100.7"},
	} {
		pkt := sfDatagram(netip.MustParseAddr(tc.agent), sfFlowSample(1, 1, 2, sfRawHeader(100, 4, ethIPv4(60))))
		got, exp, err := decodeAll(t, NewSFlow(), pkt, sflowSrc)
		if err != nil || len(got) != 1 {
			t.Fatalf("agent %s: %d records, error %v", tc.agent, len(got), err)
		}
		if exp != netip.MustParseAddr(tc.want) {
			t.Errorf("agent %s: exporter = %v, want %s", tc.agent, exp, tc.want)
		}
	}
}

func TestSFlowMalformed(t *testing.T) {
	good := sfDatagram(agentA, sfFlowSample(100, 1, 2, sfRawHeader(100, 4, ethIPv4(60))))
	badAgent := append([]byte(nil), good...)
	badAgent[7] = 3
	twoAnnounced := append([]byte(nil), good...)
	twoAnnounced[27] = 2
	tooMany := append([]byte(nil), good...)
	tooMany[26] = 0x10 // 4096 samples
	// An expanded sample announcing 2^32-1 records: goflow2 would try to
	// allocate them all.
	huge := sfExpandedSample(1, 0, 1, 0, 2)
	huge[8+40], huge[8+41], huge[8+42], huge[8+43] = 0xff, 0xff, 0xff, 0xff
	overCount := sfFlowSample(100, 1, 2, sfRawHeader(100, 4, ethIPv4(60)))
	overCount[8+31] = 50 // 50 records announced, one present
	badGateway := sfGateway(1, 2)
	badGateway[8+3] = 9 // next hop address type 9
	for _, tc := range []struct {
		name     string
		pkt      []byte
		reason   string
		records  int
		exporter netip.Addr
	}{
		{"empty", nil, ReasonShort, 0, sflowSrc.Addr()},
		{"version 4", append([]byte{0, 0, 0, 4}, good[4:]...), ReasonVersion, 0, sflowSrc.Addr()},
		{"netflow on the sflow port", message(9, 0, templateSet(9, 256, f(1, 4))), ReasonVersion, 0, sflowSrc.Addr()},
		{"agent address type", badAgent, ReasonMalformed, 0, sflowSrc.Addr()},
		{"header cut", good[:20], ReasonShort, 0, agentA},
		{"sample cut", good[:len(good)-10], ReasonShort, 0, agentA},
		{"sample missing", twoAnnounced, ReasonShort, 1, agentA},
		{"too many samples", tooMany, ReasonMalformed, 0, agentA},
		{"expanded sample with 2^32-1 records", sfDatagram(agentA, huge), ReasonMalformed, 0, agentA},
		{"records announced beyond the sample", sfDatagram(agentA, overCount), ReasonMalformed, 0, agentA},
		{"gateway next hop type", sfDatagram(agentA,
			sfFlowSample(100, 1, 2, sfRawHeader(100, 4, ethIPv4(60))),
			sfFlowSample(100, 1, 2, sfRawHeader(100, 4, ethIPv4(60)), badGateway)), ReasonMalformed, 1, agentA},
		{"unknown sample format", sfDatagram(agentA, sfSample(77, []byte{0, 0, 0, 1})), ReasonMalformed, 0, agentA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, exp, err := decodeAll(t, NewSFlow(), tc.pkt, sflowSrc)
			if r := reasonOf(err); r != tc.reason {
				t.Errorf("reason = %q (%v), want %q", r, err, tc.reason)
			}
			if len(got) != tc.records {
				t.Errorf("emitted %d records, want %d", len(got), tc.records)
			}
			if exp != tc.exporter {
				t.Errorf("exporter = %v, want %v", exp, tc.exporter)
			}
		})
	}
}
