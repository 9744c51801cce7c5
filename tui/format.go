package tui

import (
	"fmt"
	"math"
	"strings"
)

// bitRate renders bits per second with SI prefixes and three digits:
// 0 b/s, 950 b/s, 1.23 Mb/s, 12.3 Gb/s, 123 Gb/s.
func bitRate(bits float64) string {
	return si(bits, " ", "b/s")
}

// perSecond renders a rate of packets or flows: 0, 950, 1.23k, 12.3M.
func perSecond(n float64) string {
	return si(n, "", "")
}

func si(v float64, sep, unit string) string {
	const prefixes = " kMGTPE"
	i := 0
	for v >= 999.5 && i < len(prefixes)-1 {
		v /= 1000
		i++
	}
	p := strings.TrimSpace(string(prefixes[i]))
	switch {
	case i == 0:
		return fmt.Sprintf("%.0f%s%s", v, sep, unit)
	case v < 9.995:
		return fmt.Sprintf("%.2f%s%s%s", v, sep, p, unit)
	case v < 99.95:
		return fmt.Sprintf("%.1f%s%s%s", v, sep, p, unit)
	}
	return fmt.Sprintf("%.0f%s%s%s", v, sep, p, unit)
}

// speed renders an interface speed the way operators write it: 100G, 2.5G,
// 400M; empty when unknown.
func speed(bits uint64) string {
	if bits == 0 {
		return ""
	}
	units := []struct {
		div    uint64
		suffix string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}}
	for _, u := range units {
		if bits >= u.div {
			v := float64(bits) / float64(u.div)
			if v == math.Trunc(v) {
				return fmt.Sprintf("%.0f%s", v, u.suffix)
			}
			return fmt.Sprintf("%.1f%s", v, u.suffix)
		}
	}
	return fmt.Sprint(bits)
}

// percent renders a fraction: 42.0%, 0.3%, <0.1%; empty for no total.
func percent(part, total float64) string {
	if total <= 0 {
		return ""
	}
	f := 100 * part / total
	if f > 0 && f < 0.05 {
		return "<0.1%"
	}
	return fmt.Sprintf("%.1f%%", f)
}

// bar draws fraction f of width cells with eighth blocks.
func bar(f float64, width int) string {
	if width <= 0 {
		return ""
	}
	f = max(0, min(1, f))
	eighths := int(math.Round(f * float64(width*8)))
	full, part := eighths/8, eighths%8
	var b strings.Builder
	b.WriteString(strings.Repeat("█", full))
	if part > 0 {
		b.WriteRune([]rune("▏▎▍▌▋▊▉")[part-1])
	}
	return b.String()
}
