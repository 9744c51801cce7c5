package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"charm.land/lipgloss/v2"
)

// ifaceRow is one declared interface with its traffic in the latest second.
type ifaceRow struct {
	key      string // exporter/name: selection follows it across updates
	exporter string
	name     string
	role     string
	ifindex  uint32
	peerASN  uint32
	speed    uint64 // bit/s
	in, out  float64
	order    int // position in the configuration
}

// ifaceOrder is how the interface list is sorted.
type ifaceOrder int

const (
	orderConfig ifaceOrder = iota
	orderIn
	orderOut
	orderCount
)

func (o ifaceOrder) String() string {
	return [...]string{"as configured", "by bit/s in", "by bit/s out"}[o]
}

// ifaceList is the upper pane: the interfaces, one selected.
type ifaceList struct {
	styles        *Styles
	rows          []ifaceRow
	order         ifaceOrder
	cursor        int
	offset        int // first row shown
	width, height int // height includes the header line
}

func (l *ifaceList) SetSize(width, height int) {
	l.width, l.height = width, height
	l.scroll()
}

// SetRows replaces the rows, keeping the selected interface selected.
func (l *ifaceList) SetRows(rows []ifaceRow) {
	sel, ok := l.Selected()
	l.rows = rows
	l.sort()
	if ok {
		for i, r := range l.rows {
			if r.key == sel.key {
				l.cursor = i
			}
		}
	}
	l.cursor = max(0, min(l.cursor, len(l.rows)-1))
	l.scroll()
}

// SetOrder sorts the list again, the selection kept.
func (l *ifaceList) SetOrder(o ifaceOrder) {
	l.order = o
	l.SetRows(l.rows)
}

func (l *ifaceList) sort() {
	slices.SortStableFunc(l.rows, func(a, b ifaceRow) int {
		switch l.order {
		case orderIn:
			return cmp.Or(cmp.Compare(b.in, a.in), cmp.Compare(a.order, b.order))
		case orderOut:
			return cmp.Or(cmp.Compare(b.out, a.out), cmp.Compare(a.order, b.order))
		}
		return cmp.Compare(a.order, b.order)
	})
}

// Move moves the selection by delta rows, within the list.
func (l *ifaceList) Move(delta int) {
	l.cursor = max(0, min(l.cursor+delta, len(l.rows)-1))
	l.scroll()
}

func (l *ifaceList) Selected() (ifaceRow, bool) {
	if l.cursor < 0 || l.cursor >= len(l.rows) {
		return ifaceRow{}, false
	}
	return l.rows[l.cursor], true
}

// scroll keeps the cursor among the rows shown.
func (l *ifaceList) scroll() {
	visible := max(1, l.height-1)
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+visible {
		l.offset = l.cursor - visible + 1
	}
	l.offset = max(0, min(l.offset, len(l.rows)-visible))
}

func (l *ifaceList) columns() []column {
	in, out := "IN", "OUT"
	switch l.order {
	case orderIn:
		in = "▾IN"
	case orderOut:
		out = "▾OUT"
	}
	return fit([]column{
		{title: "  INTERFACE", flex: true},
		{title: "ROLE", width: 8, drop: 2},
		{title: "IFINDEX", width: 7, right: true, drop: 4},
		{title: "SPEED", width: 6, right: true, drop: 3},
		{title: in, width: 10, right: true},
		{title: out, width: 10, right: true},
		{title: "LOAD", width: 6, right: true, drop: 1},
	}, l.width, 12)
}

func (l *ifaceList) View() string {
	if l.height <= 0 {
		return ""
	}
	cols := l.columns()
	lines := []string{header(cols, l.styles.Header)}
	end := min(len(l.rows), l.offset+l.height-1)
	for i := l.offset; i < end; i++ {
		r := l.rows[i]
		marker := "  "
		if i == l.cursor {
			marker = "› "
		}
		load := ""
		if r.speed > 0 {
			load = fmt.Sprintf("%.0f%%", 100*max(r.in, r.out)/float64(r.speed))
		}
		cells := []string{marker + r.exporter + "/" + r.name, r.role, fmt.Sprint(r.ifindex), speed(r.speed),
			bitRate(r.in), bitRate(r.out), load}
		if i == l.cursor {
			lines = append(lines, l.styles.Selected.Render(row(cols, cells, nil)))
			continue
		}
		lines = append(lines, row(cols, cells, []*lipgloss.Style{nil, &l.styles.Role, nil, &l.styles.Subtle, &l.styles.In, &l.styles.Out, nil}))
	}
	if len(l.rows) == 0 {
		lines = append(lines, l.styles.Subtle.Render("  no interfaces declared"))
	}
	return strings.Join(lines, "\n")
}
