package tui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles are every style the TUI draws with, for a dark or light terminal.
type Styles struct {
	Title    lipgloss.Style // the top line
	Subtle   lipgloss.Style // secondary text: counts, times, units
	Error    lipgloss.Style // the connection state when it is lost
	Heading  lipgloss.Style // a pane's title line
	Header   lipgloss.Style // column headers
	Row      lipgloss.Style
	Selected lipgloss.Style // the selected interface
	Role     lipgloss.Style
	In       lipgloss.Style // traffic coming in
	Out      lipgloss.Style // traffic going out
	Bar      lipgloss.Style // share bars
	Help     help.Styles
}

// DefaultStyles returns the styles for a dark or a light background.
func DefaultStyles(isDark bool) Styles {
	ld := lipgloss.LightDark(isDark)
	c := func(light, dark string) color.Color { return ld(lipgloss.Color(light), lipgloss.Color(dark)) }
	accent := c("#5A3FC0", "#B9A5FF")
	return Styles{
		Title:    lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#FFFFFF")).Background(lipgloss.Color("#5A3FC0")).Padding(0, 1),
		Subtle:   lipgloss.NewStyle().Foreground(c("#8A8A8A", "#767676")),
		Error:    lipgloss.NewStyle().Bold(true).Foreground(c("#C0262D", "#FF5F67")),
		Heading:  lipgloss.NewStyle().Bold(true).Foreground(accent),
		Header:   lipgloss.NewStyle().Bold(true).Foreground(c("#4A4A4A", "#B2B2B2")),
		Row:      lipgloss.NewStyle(),
		Selected: lipgloss.NewStyle().Bold(true).Foreground(c("#000000", "#FFFFFF")).Background(c("#DCD5FF", "#3C2E7A")),
		Role:     lipgloss.NewStyle().Foreground(c("#2F7D5B", "#7FD3A8")),
		In:       lipgloss.NewStyle().Foreground(c("#1F6FB2", "#6CB6FF")),
		Out:      lipgloss.NewStyle().Foreground(c("#B2591F", "#FFB36C")),
		Bar:      lipgloss.NewStyle().Foreground(accent),
		Help:     help.DefaultStyles(isDark),
	}
}
