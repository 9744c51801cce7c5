package tui

import (
	"fmt"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{bitRate(0), "0 b/s"},
		{bitRate(950), "950 b/s"},
		{bitRate(999.4), "999 b/s"},
		{bitRate(999.6), "1.00 kb/s"},
		{bitRate(1_234_000), "1.23 Mb/s"},
		{bitRate(12_340_000_000), "12.3 Gb/s"},
		{bitRate(123_400_000_000), "123 Gb/s"},
		{bitRate(4.2e15), "4.20 Pb/s"},
		{perSecond(0), "0"},
		{perSecond(450_000), "450k"},
		{perSecond(1_250_000), "1.25M"},
		{speed(0), ""},
		{speed(100e9), "100G"},
		{speed(2.5e9), "2.5G"},
		{speed(400e6), "400M"},
		{speed(1e12), "1T"},
		{speed(999), "999"},
		{percent(1, 3), "33.3%"},
		{percent(1, 10_000), "<0.1%"},
		{percent(0, 10), "0.0%"},
		{percent(5, 0), ""},
		{bar(0, 12), ""},
		{bar(1, 4), "████"},
		{bar(2, 4), "████"},
		{bar(0.5, 3), "█▌"},
		{bar(0.5, 1), "▌"},
		{bar(1.0/16, 1), "▏"},
		{bar(0.5, 0), ""},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

func TestFit(t *testing.T) {
	cols := []column{
		{title: "A", flex: true},
		{title: "B", width: 10, drop: 1},
		{title: "C", width: 10, drop: 2},
		{title: "D", width: 10},
	}
	tests := []struct {
		width int
		want  string // titles kept and the flex width
	}{
		{60, "A27 B C D"},
		{40, "A07 B C D"},
		{35, "A13 B D"}, // C goes first
		{20, "A09 D"},
		{5, "A04 D"}, // nothing more to drop: the flex column keeps its minimum
	}
	for _, tt := range tests {
		got := ""
		for _, c := range fit(cols, tt.width, 4) {
			if got != "" {
				got += " "
			}
			got += c.title
			if c.flex {
				got += fmt.Sprintf("%02d", c.width)
			}
		}
		if got != tt.want {
			t.Errorf("width %d: %q, want %q", tt.width, got, tt.want)
		}
	}
}
