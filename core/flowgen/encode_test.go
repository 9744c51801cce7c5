package flowgen

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	"github.com/netsampler/goflow2/v2/decoders/sflow"
)

// addrCmp compares netip.Addr values, which cmp cannot look into.
var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func testFlows() []Flow {
	return []Flow{
		{SrcAddr: netip.MustParseAddr("203.0.113.7"), DstAddr: netip.MustParseAddr("192.0.2.9"), SrcPort: 443, DstPort: 50123,
			Proto: 6, Bytes: 123456, Packets: 99, InIf: 3, OutIf: 99, SrcAS: 13335, DstAS: 0},
		{SrcAddr: netip.MustParseAddr("192.0.2.1"), DstAddr: netip.MustParseAddr("198.51.100.200"), SrcPort: 53, DstPort: 53,
			Proto: 17, Bytes: 40, Packets: 1, InIf: 98, OutIf: 1, SrcAS: 64500, DstAS: 65535},
	}
}

func testFlows6() []Flow {
	return []Flow{
		{SrcAddr: netip.MustParseAddr("2a00:1450::1"), DstAddr: netip.MustParseAddr("2001:db8::5"), SrcPort: 443, DstPort: 40000,
			Proto: 6, Bytes: 1 << 33, Packets: 1 << 32, InIf: 70000, OutIf: 2, SrcAS: 4200000001, DstAS: 64501, Egress: true},
	}
}

func TestV5Goflow(t *testing.T) {
	si, err := V5Sampling(1000)
	if err != nil {
		t.Fatal(err)
	}
	if si != 0x4000|1000 {
		t.Fatalf("V5Sampling(1000) = %#x", si)
	}
	flows := testFlows()
	pkt, err := EncodeV5(nil, V5Header{SysUptime: 5000, UnixSecs: 1700000000, FlowSequence: 42, EngineID: 3, SamplingInterval: si}, flows)
	if err != nil {
		t.Fatal(err)
	}
	var p netflowlegacy.PacketNetFlowV5
	if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(pkt), &p); err != nil {
		t.Fatalf("goflow2: %v", err)
	}
	if p.Count != 2 || p.FlowSequence != 42 || p.SamplingInterval != si || p.EngineId != 3 {
		t.Errorf("header: %+v", p)
	}
	var got []Flow
	for _, r := range p.Records {
		got = append(got, Flow{
			SrcAddr: netip.AddrFrom4([4]byte{byte(r.SrcAddr >> 24), byte(r.SrcAddr >> 16), byte(r.SrcAddr >> 8), byte(r.SrcAddr)}),
			DstAddr: netip.AddrFrom4([4]byte{byte(r.DstAddr >> 24), byte(r.DstAddr >> 16), byte(r.DstAddr >> 8), byte(r.DstAddr)}),
			SrcPort: r.SrcPort, DstPort: r.DstPort, Proto: r.Proto,
			Bytes: uint64(r.DOctets), Packets: uint64(r.DPkts), InIf: uint32(r.Input), OutIf: uint32(r.Output),
			SrcAS: uint32(r.SrcAS), DstAS: uint32(r.DstAS),
		})
	}
	if d := cmp.Diff(got, flows, addrCmp); d != "" {
		t.Errorf("records (-got +want):\n%s", d)
	}
}

func TestV5Rejects(t *testing.T) {
	for name, f := range map[string]Flow{
		"ipv6":      testFlows6()[0],
		"as 4-byte": {SrcAddr: netip.MustParseAddr("192.0.2.1"), DstAddr: netip.MustParseAddr("192.0.2.2"), SrcAS: 70000},
	} {
		if _, err := EncodeV5(nil, V5Header{}, []Flow{f}); err == nil {
			t.Errorf("%s: EncodeV5 accepted it", name)
		}
	}
	if _, err := V5Sampling(1 << 14); err == nil {
		t.Error("V5Sampling(16384) accepted")
	}
}

// field returns the big-endian value of field typ in values.
func field(t *testing.T, values []netflow.DataField, typ uint16) []byte {
	t.Helper()
	for _, v := range values {
		if v.Type == typ {
			return v.Value.([]byte)
		}
	}
	t.Fatalf("field %d missing", typ)
	return nil
}

func uintOf(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// flowFromFields rebuilds a Flow from decoded data fields.
func flowFromFields(t *testing.T, vals []netflow.DataField) Flow {
	t.Helper()
	f := Flow{
		Bytes: uintOf(field(t, vals, FieldInBytes)), Packets: uintOf(field(t, vals, FieldInPkts)),
		Proto:   uint8(uintOf(field(t, vals, FieldProtocol))),
		SrcPort: uint16(uintOf(field(t, vals, FieldL4SrcPort))), DstPort: uint16(uintOf(field(t, vals, FieldL4DstPort))),
		InIf: uint32(uintOf(field(t, vals, FieldInputSNMP))), OutIf: uint32(uintOf(field(t, vals, FieldOutputSNMP))),
		SrcAS: uint32(uintOf(field(t, vals, FieldSrcAS))), DstAS: uint32(uintOf(field(t, vals, FieldDstAS))),
	}
	for _, v := range vals {
		b, _ := v.Value.([]byte)
		switch v.Type {
		case FieldIPv4SrcAddr, FieldIPv6SrcAddr:
			f.SrcAddr, _ = netip.AddrFromSlice(b)
		case FieldIPv4DstAddr, FieldIPv6DstAddr:
			f.DstAddr, _ = netip.AddrFromSlice(b)
		case FieldDirection:
			f.Egress = uintOf(b) == 1
		}
	}
	return f
}

func TestV9IPFIXGoflow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint16
		opts    OptionsTemplate
		rec     OptionsRecord
	}{
		{"v9 field 34", 9, OptionsTemplate{ID: 258, Scopes: []Field{{ScopeSystem, 4}}, Options: []Field{{FieldSamplingInterval, 4}}},
			OptionsRecord{Scopes: []uint64{0x7f00000b}, Options: []uint64{1000}}},
		{"v9 field 50", 9, OptionsTemplate{ID: 258, Scopes: []Field{{ScopeSystem, 4}}, Options: []Field{{FieldSamplerRandomInterv, 4}}},
			OptionsRecord{Scopes: []uint64{0x7f00000b}, Options: []uint64{512}}},
		{"ipfix 305/306", 10, OptionsTemplate{ID: 258, Scopes: []Field{{FieldObservationDomainID, 4}},
			Options: []Field{{FieldSamplingPacketInt, 4}, {FieldSamplingPacketSpace, 4}}},
			OptionsRecord{Scopes: []uint64{258}, Options: []uint64{1, 999}}},
		{"ipfix 34", 10, OptionsTemplate{ID: 258, Scopes: []Field{{FieldObservationDomainID, 4}}, Options: []Field{{FieldSamplingInterval, 4}}},
			OptionsRecord{Scopes: []uint64{0}, Options: []uint64{100}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ipfix := tc.version == 10
			t4, t6 := FlowTemplate(256, ipfix, false, true), FlowTemplate(257, ipfix, true, true)
			flows4, flows6 := testFlows(), testFlows6()
			if !ipfix {
				flows6[0].Bytes, flows6[0].Packets, flows6[0].InIf = 1<<31, 7, 65000 // v9 lengths: 4-byte counters, 2-byte interfaces
			}
			d4, err := DataSet(tc.version, t4, flows4)
			if err != nil {
				t.Fatal(err)
			}
			d6, err := DataSet(tc.version, t6, flows6)
			if err != nil {
				t.Fatal(err)
			}
			od, err := OptionsDataSet(tc.version, tc.opts, tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			sets := []Set{TemplateSet(tc.version, t4, t6), OptionsTemplateSet(tc.version, tc.opts), od, d4, d6}
			var pkt []byte
			if ipfix {
				pkt, err = EncodeIPFIX(nil, IPFIXHeader{ExportTime: 1700000000, Sequence: 7, ObservationDomainID: 258}, sets...)
				if err != nil {
					t.Fatal(err)
				}
			} else {
				pkt = EncodeV9(nil, V9Header{SysUptime: 1, UnixSecs: 1700000000, Sequence: 7, SourceID: 258}, sets...)
			}
			ts := netflow.CreateTemplateSystem()
			var v9 netflow.NFv9Packet
			var ix netflow.IPFIXPacket
			if err := netflow.DecodeMessageVersion(bytes.NewBuffer(pkt), ts, &v9, &ix); err != nil {
				t.Fatalf("goflow2: %v", err)
			}
			fsets := v9.FlowSets
			if ipfix {
				fsets = ix.FlowSets
				if ix.ObservationDomainId != 258 || ix.SequenceNumber != 7 || int(ix.Length) != len(pkt) {
					t.Errorf("ipfix header: %+v", ix)
				}
			} else if v9.SourceId != 258 || v9.SequenceNumber != 7 || v9.Count != 2+1+1+3 {
				t.Errorf("v9 header: %+v", v9)
			}
			var got []Flow
			var gotOpts []OptionsRecord
			for _, s := range fsets {
				switch s := s.(type) {
				case netflow.DataFlowSet:
					for _, r := range s.Records {
						got = append(got, flowFromFields(t, r.Values))
					}
				case netflow.OptionsDataFlowSet:
					for _, r := range s.Records {
						var o OptionsRecord
						for _, v := range r.ScopesValues {
							o.Scopes = append(o.Scopes, uintOf(v.Value.([]byte)))
						}
						for _, v := range r.OptionsValues {
							o.Options = append(o.Options, uintOf(v.Value.([]byte)))
						}
						gotOpts = append(gotOpts, o)
					}
				}
			}
			want := append(append([]Flow(nil), flows4...), flows6...)
			if d := cmp.Diff(got, want, addrCmp); d != "" {
				t.Errorf("records (-got +want):\n%s", d)
			}
			if d := cmp.Diff(gotOpts, []OptionsRecord{tc.rec}); d != "" {
				t.Errorf("options (-got +want):\n%s", d)
			}
		})
	}
}

func TestDataSetRejects(t *testing.T) {
	t4 := FlowTemplate(256, false, false, false)
	big := testFlows()[:1]
	big[0].InIf = 70000 // does not fit the 2-byte v9 INPUT_SNMP
	if _, err := DataSet(9, t4, big); err == nil {
		t.Error("DataSet accepted an ifIndex wider than its field")
	}
	if _, err := DataSet(9, t4, testFlows6()); err == nil {
		t.Error("DataSet accepted IPv6 flows for an IPv4 template")
	}
}

// l3Length reads the IP length of a sampled Ethernet frame: 0 when not IP.
func l3Length(t *testing.T, hdr []byte) (uint64, uint8) {
	t.Helper()
	switch binary.BigEndian.Uint16(hdr[12:]) {
	case 0x0800:
		return uint64(binary.BigEndian.Uint16(hdr[16:])), 4
	case 0x86dd:
		return 40 + uint64(binary.BigEndian.Uint16(hdr[18:])), 6
	}
	return 0, 0
}

func TestSFlowGoflow(t *testing.T) {
	f4, f6 := testFlows()[0], testFlows6()[0]
	f4.Bytes, f6.Bytes = 1500, 60
	h4, fl4, err := SampledFrame(&f4, 128)
	if err != nil {
		t.Fatal(err)
	}
	h6, fl6, err := SampledFrame(&f6, 128)
	if err != nil {
		t.Fatal(err)
	}
	harp, flarp, err := ARPFrame(128)
	if err != nil {
		t.Fatal(err)
	}
	if fl4 != 1500+14+4 || len(h4) != 128 || fl6 != 60+14+4 || len(h6) != 74 || flarp != 64 || len(harp) != 60 {
		t.Fatalf("frame lengths: %d/%d %d/%d %d/%d", fl4, len(h4), fl6, len(h6), flarp, len(harp))
	}
	gw := &SFlowGateway{NextHop: netip.MustParseAddr("198.51.100.1"), SrcAS: 13335, DstASPath: []uint32{174, 3356, 64501}, LocalPref: 100}
	dg := SFlowDatagram{Agent: netip.MustParseAddr("127.0.0.13"), SubAgentID: 1, Sequence: 9, Uptime: 1000, Samples: []SFlowSample{
		{Sequence: 1, SourceIDIndex: 3, SamplingRate: 1000, SamplePool: 1000, Input: 3, Output: 99, Header: h4, FrameLength: fl4, Stripped: 4, Gateway: gw},
		{Expanded: true, Sequence: 2, SamplingRate: 1000, SamplePool: 2000, Input: SFlowIfMultiple | 2, Output: 2, Header: h6, FrameLength: fl6, Stripped: 4,
			Gateway: &SFlowGateway{NextHop: netip.MustParseAddr("2001:db8::1"), SrcAS: 0}},
		{Sequence: 3, SamplingRate: 1000, SamplePool: 3000, Input: 1, Output: SFlowIfDiscarded | 258, Header: harp, FrameLength: flarp, Stripped: 4},
	}}
	pkt, err := EncodeSFlow(nil, dg)
	if err != nil {
		t.Fatal(err)
	}
	var p sflow.Packet
	if err := sflow.DecodeMessageVersion(bytes.NewBuffer(pkt), &p); err != nil {
		t.Fatalf("goflow2: %v", err)
	}
	if netip.AddrFrom4([4]byte(p.AgentIP)) != dg.Agent || p.SequenceNumber != 9 || p.SamplesCount != 3 {
		t.Errorf("header: %+v", p)
	}
	type got struct {
		Format, Rate, In, Out uint32
		L3                    uint64
		IPVersion             uint8
		SrcAS, HeaderLen      uint32
		Path                  []uint32
	}
	var gots []got
	for _, s := range p.Samples {
		var g got
		var recs []sflow.FlowRecord
		switch s := s.(type) {
		case sflow.FlowSample:
			g = got{Format: 1, Rate: s.SamplingRate, In: s.Input, Out: s.Output}
			recs = s.Records
		case sflow.ExpandedFlowSample:
			g = got{Format: 3, Rate: s.SamplingRate, In: s.InputIfFormat<<30 | s.InputIfValue, Out: s.OutputIfFormat<<30 | s.OutputIfValue}
			recs = s.Records
		default:
			t.Fatalf("sample %T", s)
		}
		for _, r := range recs {
			switch d := r.Data.(type) {
			case sflow.SampledHeader:
				g.HeaderLen = d.OriginalLength
				g.L3, g.IPVersion = l3Length(t, d.HeaderData)
			case sflow.ExtendedGateway:
				g.SrcAS, g.Path = d.SrcAS, d.ASPath
			}
		}
		gots = append(gots, g)
	}
	want := []got{
		{1, 1000, 3, 99, 1500, 4, 13335, 128, []uint32{174, 3356, 64501}},
		{3, 1000, SFlowIfMultiple | 2, 2, 60, 6, 0, 74, nil},
		{1, 1000, 1, SFlowIfDiscarded | 258, 0, 0, 0, 60, nil},
	}
	if d := cmp.Diff(gots, want); d != "" {
		t.Errorf("samples (-got +want):\n%s", d)
	}
}
