package tui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// column of a table; the one with flex takes the width left by the
// others. Optional columns are left out, the highest drop first, when the
// window is too narrow for them.
type column struct {
	title string
	width int
	right bool
	flex  bool
	drop  int // 0: always shown
	cell  int // index of its cell in a row's cells
}

// fit gives the flex column what the others leave of width (at least min),
// with one space between columns, leaving out optional columns as needed.
func fit(cols []column, width, min int) []column {
	out := make([]column, len(cols))
	for i, c := range cols {
		c.cell = i
		out[i] = c
	}
	for {
		used, worst := len(out)-1, -1
		for i, c := range out {
			if !c.flex {
				used += c.width
			}
			if c.drop > 0 && (worst < 0 || c.drop > out[worst].drop) {
				worst = i
			}
		}
		if used+min <= width || worst < 0 {
			for i := range out {
				if out[i].flex {
					out[i].width = max(min, width-used)
				}
			}
			return out
		}
		out = append(out[:worst], out[worst+1:]...)
	}
}

// pad fits plain text s into w cells, cut with … when too long.
func pad(s string, w int, right bool) string {
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	gap := strings.Repeat(" ", max(0, w-ansi.StringWidth(s)))
	if right {
		return gap + s
	}
	return s + gap
}

// row joins cells fitted to cols. styles, when not nil, colours each
// cell; a nil entry leaves it as it is.
func row(cols []column, cells []string, styles []*lipgloss.Style) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		s := pad(cells[c.cell], c.width, c.right)
		if styles != nil && styles[c.cell] != nil {
			s = styles[c.cell].Render(s)
		}
		b.WriteString(s)
	}
	return b.String()
}

func header(cols []column, st lipgloss.Style) string {
	cells := make([]string, len(cols))
	for _, c := range cols {
		if c.cell >= len(cells) {
			cells = append(cells, make([]string, c.cell+1-len(cells))...)
		}
		cells[c.cell] = c.title
	}
	return st.Render(row(cols, cells, nil))
}
