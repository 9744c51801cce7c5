package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"charm.land/lipgloss/v2"
)

// asnRow is one remote ASN on the selected interface and direction.
type asnRow struct {
	asn     uint32
	other   bool // the collector's key cap overflow
	rest    bool // the ASNs beyond the rows the core sent
	name    string
	bytes   uint64
	packets uint64
	flows   uint64
}

// asnSort is how the ASN rows are sorted.
type asnSort int

const (
	sortBits asnSort = iota
	sortPackets
	sortFlows
	sortASN
	sortCount
)

func (s asnSort) String() string {
	return [...]string{"bit/s", "pkt/s", "flow/s", "ASN"}[s]
}

// asnTable is the lower pane: the remote ASNs of one interface and
// direction in the latest second.
type asnTable struct {
	styles        *Styles
	rows          []asnRow
	total         uint64 // bytes of the direction, rows beyond top included
	sort          asnSort
	width, height int // height includes the header line
}

func (t *asnTable) SetSize(width, height int) { t.width, t.height = width, height }

// SetRows shows rows (biggest first by bytes, as the core sends them)
// sorted by the table's order, with a line for the rest of total.
func (t *asnTable) SetRows(rows []asnRow, total uint64) {
	t.rows, t.total = rows, total
	var shown uint64
	for _, r := range rows {
		shown += r.bytes
	}
	t.sortRows()
	if total > shown {
		t.rows = append(t.rows, asnRow{rest: true, bytes: total - shown})
	}
}

func (t *asnTable) SetSort(s asnSort) {
	t.sort = s
	t.sortRows()
}

func (t *asnTable) sortRows() {
	slices.SortStableFunc(t.rows, func(a, b asnRow) int {
		if a.rest != b.rest { // the rest stays last
			return cmpBool(a.rest, b.rest)
		}
		var c int
		switch t.sort {
		case sortPackets:
			c = cmp.Compare(b.packets, a.packets)
		case sortFlows:
			c = cmp.Compare(b.flows, a.flows)
		case sortASN:
			c = cmp.Or(cmpBool(a.other, b.other), cmp.Compare(a.asn, b.asn))
		}
		return cmp.Or(c, cmp.Compare(b.bytes, a.bytes), cmp.Compare(a.asn, b.asn))
	})
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func (t *asnTable) columns() []column {
	titles := []string{"ASN", "BIT/S", "PKT/S", "FLOW/S"}
	i := [...]int{sortBits: 1, sortPackets: 2, sortFlows: 3, sortASN: 0}[t.sort]
	titles[i] = "▾" + titles[i]
	return fit([]column{
		{title: titles[0], width: 10, right: true},
		{title: "NAME", flex: true},
		{title: titles[1], width: 10, right: true},
		{title: titles[2], width: 7, right: true, drop: 3},
		{title: titles[3], width: 7, right: true, drop: 4},
		{title: "SHARE", width: 6, right: true, drop: 1},
		{title: "", width: 12, drop: 5},
	}, t.width, 8)
}

func (t *asnTable) View() string {
	if t.height <= 0 {
		return ""
	}
	cols := t.columns()
	lines := []string{header(cols, t.styles.Header)}
	if len(t.rows) == 0 {
		lines = append(lines, t.styles.Subtle.Render("  no traffic in this second"))
	}
	for _, r := range t.rows {
		if len(lines) == t.height {
			break
		}
		asn, name := fmt.Sprintf("AS%d", r.asn), r.name
		switch {
		case r.rest:
			asn, name = "…", "other ASNs"
		case r.other:
			asn, name = "—", "over the key cap"
		case r.asn == 0 && name == "":
			name = "unknown (no AS in the flows)"
		}
		f := 0.0
		if t.total > 0 {
			f = float64(r.bytes) / float64(t.total)
		}
		cells := []string{asn, name, bitRate(float64(r.bytes * 8)), perSecond(float64(r.packets)), perSecond(float64(r.flows)),
			percent(float64(r.bytes), float64(t.total)), bar(f, 12)}
		if r.rest {
			cells[3], cells[4] = "", ""
		}
		styles := []*lipgloss.Style{nil, nil, nil, &t.styles.Subtle, &t.styles.Subtle, nil, &t.styles.Bar}
		if r.rest || r.other {
			styles[0], styles[1] = &t.styles.Subtle, &t.styles.Subtle
		}
		lines = append(lines, row(cols, cells, styles))
	}
	return strings.Join(lines, "\n")
}
