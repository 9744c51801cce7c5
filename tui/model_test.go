package tui

import (
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/google/go-cmp/cmp"

	"github.com/lastfluss/lastfluss/sdk/proto"
)

// second is a fixed second of traffic: two exporters, three interfaces,
// one of them idle.
func second(unixSecond int64) *proto.LiveUpdate {
	return &proto.LiveUpdate{
		SecondUnixMs: unixSecond * 1000,
		Interfaces: []*proto.LiveInterface{
			{
				Info: &proto.InterfaceInfo{Exporter: "edge1-fra", Name: "transit-cogent", Ifindex: 531, Role: "transit", PeerAsn: 174, Speed: 100e9},
				In: &proto.LiveDirection{Bytes: 1_500_000_000, Packets: 1_200_000, Flows: 900, Rows: []*proto.LiveRow{
					{RemoteAsn: 15169, Bytes: 600_000_000, Packets: 450_000, Flows: 300},
					{RemoteAsn: 13335, Bytes: 400_000_000, Packets: 350_000, Flows: 200},
					{RemoteAsn: 32934, Bytes: 250_000_000, Packets: 160_000, Flows: 150},
					{Other: true, Bytes: 50_000_000, Packets: 40_000, Flows: 50},
				}},
				Out: &proto.LiveDirection{Bytes: 300_000_000, Packets: 500_000, Flows: 400, Rows: []*proto.LiveRow{
					{RemoteAsn: 3320, Bytes: 200_000_000, Packets: 300_000, Flows: 250},
					{RemoteAsn: 6939, Bytes: 100_000_000, Packets: 200_000, Flows: 150},
				}},
			},
			{
				Info: &proto.InterfaceInfo{Exporter: "edge1-fra", Name: "ix-decix", Ifindex: 612, Role: "ix"},
				In: &proto.LiveDirection{Bytes: 2_000_000_000, Packets: 1_500_000, Flows: 1000, Rows: []*proto.LiveRow{
					{RemoteAsn: 2906, Bytes: 2_000_000_000, Packets: 1_500_000, Flows: 1000},
				}},
				Out: &proto.LiveDirection{},
			},
			{
				Info: &proto.InterfaceInfo{Exporter: "edge2-ber", Name: "pni-dtag", Ifindex: 7, Role: "pni", PeerAsn: 3320, Speed: 10e9},
				In:   &proto.LiveDirection{},
				Out:  &proto.LiveDirection{},
			},
		},
		AsNames: map[uint32]string{174: "COGENT-174", 15169: "GOOGLE", 13335: "CLOUDFLARENET", 32934: "FACEBOOK",
			3320: "DTAG", 6939: "HURRICANE", 2906: "AS-SSI"},
	}
}

func press(m *Model, keys ...string) {
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "down":
			msg = tea.KeyPressMsg{Code: tea.KeyDown}
		case "up":
			msg = tea.KeyPressMsg{Code: tea.KeyUp}
		case "tab":
			msg = tea.KeyPressMsg{Code: tea.KeyTab}
		default:
			r := []rune(k)[0]
			msg = tea.KeyPressMsg{Code: r, Text: k}
		}
		m.Update(msg)
	}
}

func screen(m *Model) string {
	return ansi.Strip(m.View().Content)
}

func newSized(w, h int) *Model {
	m := New(Options{Address: "/var/lib/lastfluss/lastfluss.sock"})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// lines returns the screen's lines that contain s.
func lines(screen, s string) []string {
	var out []string
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, s) {
			out = append(out, strings.TrimRight(l, " "))
		}
	}
	return out
}

// asnOrder returns the ASNs of the lower pane, top to bottom.
func asnOrder(screen string) []string {
	var out []string
	for _, l := range strings.Split(screen, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && (strings.HasPrefix(f[0], "AS") && f[0] != "ASN" || f[0] == "—" || f[0] == "…") {
			out = append(out, f[0])
		}
	}
	return out
}

func TestWaitingThenData(t *testing.T) {
	m := newSized(100, 30)
	if s := screen(m); !strings.Contains(s, "waiting for the first second") {
		t.Fatalf("before any data:\n%s", s)
	}
	m.Update(UpdateMsg{second(1_800_000_000)})
	s := screen(m)
	for _, want := range []string{
		"08:00:00 UTC · 3 interfaces · in 28.0 Gb/s · out 2.40 Gb/s",
		"› edge1-fra/transit-cogent",
		"edge1-fra/transit-cogent   in  out   12.0 Gb/s · peer AS174 COGENT-174 · by bit/s",
		"AS15169 GOOGLE",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	if got := lines(s, "AS15169"); len(got) != 1 || !strings.Contains(got[0], "4.80 Gb/s    450k     300  40.0% ████▊") {
		t.Errorf("GOOGLE's row: %q", got)
	}
	if got := lines(s, "edge1-fra/transit-cogent"); !strings.Contains(got[0], "transit      531   100G  12.0 Gb/s  2.40 Gb/s    12%") {
		t.Errorf("transit's row: %q", got)
	}
	// The rest of the direction's total beyond the rows sent.
	if got := lines(s, "other ASNs"); len(got) != 1 || !strings.Contains(got[0], "1.60 Gb/s                  13.3%") {
		t.Errorf("rest row: %q", got)
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		name    string
		keys    []string
		heading string   // start of the lower pane's heading
		asns    []string // its rows, in order
	}{
		{"start", nil, "edge1-fra/transit-cogent", []string{"AS15169", "AS13335", "AS32934", "—", "…"}},
		{"out", []string{"tab"}, "edge1-fra/transit-cogent", []string{"AS3320", "AS6939"}},
		{"out and back", []string{"d", "d"}, "edge1-fra/transit-cogent", []string{"AS15169", "AS13335", "AS32934", "—", "…"}},
		{"next interface", []string{"down"}, "edge1-fra/ix-decix", []string{"AS2906"}},
		{"down past the end", []string{"down", "j", "down", "down"}, "edge2-ber/pni-dtag", nil},
		{"last, then up", []string{"G", "k"}, "edge1-fra/ix-decix", []string{"AS2906"}},
		{"by packets", []string{"s"}, "edge1-fra/transit-cogent", []string{"AS15169", "AS13335", "AS32934", "—", "…"}},
		{"by ASN", []string{"s", "s", "s"}, "edge1-fra/transit-cogent", []string{"AS13335", "AS15169", "AS32934", "—", "…"}},
		{"by ASN then bit/s", []string{"s", "s", "s", "s"}, "edge1-fra/transit-cogent", []string{"AS15169", "AS13335", "AS32934", "—", "…"}},
		{"interfaces by in", []string{"o"}, "edge1-fra/transit-cogent", []string{"AS15169", "AS13335", "AS32934", "—", "…"}},
		{"interfaces by in, first", []string{"o", "g"}, "edge1-fra/ix-decix", []string{"AS2906"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newSized(100, 30)
			m.Update(UpdateMsg{second(1_800_000_000)})
			press(m, tt.keys...)
			s := screen(m)
			if h := lines(s, "· by "); len(h) != 1 || !strings.HasPrefix(h[0], tt.heading+" ") {
				t.Errorf("heading %q, want it to start with %q", h, tt.heading)
			}
			if diff := cmp.Diff(asnOrder(s), tt.asns); diff != "" {
				t.Errorf("ASN rows (-got +want):\n%s\n%s", diff, s)
			}
		})
	}
}

// TestSelectionFollowsInterface: a new second, or a new order, keeps the
// selected interface selected even when it moves in the list.
func TestSelectionFollowsInterface(t *testing.T) {
	m := newSized(100, 30)
	m.Update(UpdateMsg{second(1_800_000_000)})
	press(m, "down", "down") // pni-dtag
	press(m, "o", "o")       // by out: pni-dtag (0 b/s) moves to the end
	u := second(1_800_000_001)
	u.Interfaces[2].Out = &proto.LiveDirection{Bytes: 1_000_000_000, Rows: []*proto.LiveRow{{RemoteAsn: 3320, Bytes: 1_000_000_000}}}
	m.Update(UpdateMsg{u}) // now pni-dtag is the busiest out
	s := screen(m)
	if got := lines(s, "› "); len(got) != 1 || !strings.Contains(got[0], "edge2-ber/pni-dtag") {
		t.Errorf("selected %q, want pni-dtag:\n%s", got, s)
	}
	rows := lines(s, "  edge")
	if len(rows) < 1 || !strings.Contains(lines(s, "/")[1], "pni-dtag") {
		t.Errorf("pni-dtag is not first by out:\n%s", s)
	}
}

func TestPause(t *testing.T) {
	m := newSized(100, 30)
	m.Update(UpdateMsg{second(1_800_000_000)})
	press(m, "p")
	m.Update(UpdateMsg{second(1_800_000_005)})
	s := screen(m)
	if !strings.Contains(s, "08:00:00 UTC") || !strings.Contains(s, "paused") {
		t.Errorf("paused screen moved on:\n%s", s)
	}
	press(m, "p")
	if s := screen(m); !strings.Contains(s, "08:00:05 UTC") || strings.Contains(s, "paused") {
		t.Errorf("after pause, the latest second is not shown:\n%s", s)
	}
}

func TestConnection(t *testing.T) {
	m := newSized(120, 30)
	m.Update(UpdateMsg{second(1_800_000_000)})
	m.Update(ConnMsg{Err: errors.New("connection refused")})
	if s := screen(m); !strings.Contains(s, "connection lost, retrying: connection refused") {
		t.Errorf("lost connection not shown:\n%s", s)
	}
	m.Update(ConnMsg{})
	if s := screen(m); strings.Contains(s, "connection lost") {
		t.Errorf("connection back, still shown lost:\n%s", s)
	}
}

func TestHelpAndQuit(t *testing.T) {
	m := newSized(100, 30)
	m.Update(UpdateMsg{second(1_800_000_000)})
	if s := screen(m); strings.Contains(s, "order interfaces") || !strings.Contains(s, "? help") {
		t.Errorf("short help:\n%s", s)
	}
	press(m, "?")
	s := screen(m)
	if !strings.Contains(s, "order interfaces") || !strings.Contains(s, "pause") {
		t.Errorf("full help:\n%s", s)
	}
	if n := strings.Count(s, "\n") + 1; n != 30 {
		t.Errorf("%d lines with the full help, want the window's 30", n)
	}
	_, cmd := m.Update(tea.KeyPressMsg{Code: 'q', Text: "q"})
	if cmd == nil {
		t.Fatal("q returns no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("q does not quit")
	}
}

// TestSource: the model waits for the source's next message after each
// one, and stops waiting when the source closes.
func TestSource(t *testing.T) {
	src := make(chan tea.Msg, 3)
	m := New(Options{Source: src})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	src <- UpdateMsg{second(1_800_000_000)}
	src <- ConnMsg{Err: errors.New("gone")}
	close(src)
	cmd := m.wait()
	for range 2 {
		msg := cmd()
		_, cmd = m.Update(msg)
		if cmd == nil {
			t.Fatalf("no command waiting after %T", msg)
		}
	}
	if msg := cmd(); msg != (sourceClosedMsg{}) {
		t.Fatalf("after close: %T", msg)
	}
	if s := screen(m); !strings.Contains(s, "08:00:00 UTC") || !strings.Contains(s, "connection lost, retrying: gone") {
		t.Errorf("messages from the source not shown:\n%s", s)
	}
}

// TestSizes: every size renders, exactly the window's height, no line
// wider than the window.
func TestSizes(t *testing.T) {
	for _, size := range [][2]int{{100, 30}, {80, 24}, {40, 10}, {20, 5}, {200, 60}, {1, 1}} {
		m := newSized(size[0], size[1])
		m.Update(UpdateMsg{second(1_800_000_000)})
		for _, keys := range [][]string{nil, {"?"}} {
			press(m, keys...)
			s := screen(m)
			ls := strings.Split(s, "\n")
			if size[1] >= 10 && len(ls) != size[1] {
				t.Errorf("%v: %d lines", size, len(ls))
			}
			for _, l := range ls {
				if w := ansi.StringWidth(l); w > size[0] && size[0] >= 40 {
					t.Errorf("%v: line of %d cells: %q", size, w, l)
				}
			}
		}
	}
}
