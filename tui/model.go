// Package tui is the terminal UI of a running Lastfluss core: the declared
// interfaces with their traffic now, and for the selected one the remote
// ASNs in and out. It takes its data as messages (UpdateMsg, ConnMsg), so
// that Stream feeds it from the control socket and tests feed it directly.
// It talks to the core only through sdk/proto.
package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/lastfluss/lastfluss/sdk/proto"
)

// UpdateMsg carries one second of the live view.
type UpdateMsg struct{ Update *proto.LiveUpdate }

// ConnMsg tells that the connection to the core was lost (Err set) or is
// back (Err nil).
type ConnMsg struct{ Err error }

// sourceClosedMsg: the source has no more messages.
type sourceClosedMsg struct{}

// Options of a Model.
type Options struct {
	// Source delivers UpdateMsg and ConnMsg; the model waits for the next
	// one after each. Nil: only messages sent to the program arrive.
	Source <-chan tea.Msg
	// Address of the core, shown in the title line.
	Address string
}

// Model is the whole screen.
type Model struct {
	keys    keyMap
	styles  *Styles
	help    help.Model
	list    ifaceList
	asns    asnTable
	source  <-chan tea.Msg
	address string

	width, height int
	dir           int // 0 in, 1 out
	paused        bool
	latest        *proto.LiveUpdate // shown
	pending       *proto.LiveUpdate // arrived while paused
	names         map[uint32]string // AS names seen so far
	connErr       error
}

var _ tea.Model = (*Model)(nil)

// New returns the model with dark-background styles until the terminal
// tells its background.
func New(opts Options) *Model {
	st := DefaultStyles(true)
	m := &Model{
		keys:    defaultKeyMap(),
		styles:  &st,
		help:    help.New(),
		source:  opts.Source,
		address: opts.Address,
		names:   make(map[uint32]string),
	}
	m.help.Styles = st.Help
	m.list.styles = m.styles
	m.asns.styles = m.styles
	return m
}

// Init asks for the background colour and waits for the first second.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(tea.RequestBackgroundColor, m.wait())
}

// wait is the command that delivers the source's next message; Update
// returns it again after each one, so there is always one waiting.
func (m *Model) wait() tea.Cmd {
	if m.source == nil {
		return nil
	}
	src := m.source
	return func() tea.Msg {
		msg, ok := <-src
		if !ok {
			return sourceClosedMsg{}
		}
		return msg
	}
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
	case tea.BackgroundColorMsg:
		*m.styles = DefaultStyles(msg.IsDark())
		m.help.Styles = m.styles.Help
	case UpdateMsg:
		if m.paused {
			m.pending = msg.Update
		} else {
			m.apply(msg.Update)
		}
		return m, m.wait()
	case ConnMsg:
		m.connErr = msg.Err
		return m, m.wait()
	case sourceClosedMsg:
		return m, nil
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Quit):
		return tea.Quit
	case key.Matches(msg, m.keys.Up):
		m.list.Move(-1)
	case key.Matches(msg, m.keys.Down):
		m.list.Move(1)
	case key.Matches(msg, m.keys.Top):
		m.list.Move(-len(m.list.rows))
	case key.Matches(msg, m.keys.Bottom):
		m.list.Move(len(m.list.rows))
	case key.Matches(msg, m.keys.Direction):
		m.dir = 1 - m.dir
	case key.Matches(msg, m.keys.Sort):
		m.asns.SetSort((m.asns.sort + 1) % sortCount)
	case key.Matches(msg, m.keys.Order):
		m.list.SetOrder((m.list.order + 1) % orderCount)
	case key.Matches(msg, m.keys.Pause):
		m.paused = !m.paused
		if !m.paused && m.pending != nil {
			m.apply(m.pending)
			m.pending = nil
		}
	case key.Matches(msg, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.layout()
		return nil
	default:
		return nil
	}
	m.showSelected()
	return nil
}

// apply makes u the second shown.
func (m *Model) apply(u *proto.LiveUpdate) {
	for asn, name := range u.GetAsNames() {
		m.names[asn] = name
	}
	m.latest = u
	rows := make([]ifaceRow, 0, len(u.GetInterfaces()))
	for i, li := range u.GetInterfaces() {
		info := li.GetInfo()
		rows = append(rows, ifaceRow{
			key:      info.GetExporter() + "/" + info.GetName(),
			exporter: info.GetExporter(),
			name:     info.GetName(),
			role:     info.GetRole(),
			ifindex:  info.GetIfindex(),
			peerASN:  info.GetPeerAsn(),
			speed:    info.GetSpeed(),
			in:       float64(li.GetIn().GetBytes() * 8),
			out:      float64(li.GetOut().GetBytes() * 8),
			order:    i,
		})
	}
	n := len(m.list.rows)
	m.list.SetRows(rows)
	if n != len(rows) {
		m.layout()
	}
	m.showSelected()
}

// showSelected fills the ASN table with the selected interface's rows in
// the chosen direction.
func (m *Model) showSelected() {
	sel, ok := m.list.Selected()
	if !ok || m.latest == nil {
		m.asns.SetRows(nil, 0)
		return
	}
	var d *proto.LiveDirection
	for _, li := range m.latest.GetInterfaces() {
		if li.GetInfo().GetExporter()+"/"+li.GetInfo().GetName() == sel.key {
			d = li.GetIn()
			if m.dir == 1 {
				d = li.GetOut()
			}
		}
	}
	rows := make([]asnRow, 0, len(d.GetRows()))
	for _, r := range d.GetRows() {
		rows = append(rows, asnRow{asn: r.GetRemoteAsn(), other: r.GetOther(), name: m.names[r.GetRemoteAsn()],
			bytes: r.GetBytes(), packets: r.GetPackets(), flows: r.GetFlows()})
	}
	m.asns.SetRows(rows, d.GetBytes())
}

// layout shares the height between the panes: the interface list gets up
// to two fifths, the ASN table the rest.
func (m *Model) layout() {
	m.help.SetWidth(m.width)
	helpH := lipgloss.Height(m.help.View(m.keys))
	// Title, blank, blank, heading of the ASN pane, blank before the help.
	avail := max(0, m.height-5-helpH)
	listH := min(len(m.list.rows)+1, max(3, avail*2/5))
	listH = min(listH, avail)
	m.list.SetSize(m.width, listH)
	m.asns.SetSize(m.width, avail-listH)
}

func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "lastfluss live"
	return v
}

func (m *Model) render() string {
	if m.width == 0 {
		return ""
	}
	st := m.styles
	var b strings.Builder
	b.WriteString(m.titleLine())
	b.WriteString("\n\n")
	if m.latest == nil {
		b.WriteString(st.Subtle.Render("  waiting for the first second of traffic…"))
		b.WriteString("\n")
		return m.withHelp(b.String())
	}
	b.WriteString(m.list.View())
	b.WriteString("\n\n")
	b.WriteString(m.heading())
	b.WriteString("\n")
	b.WriteString(m.asns.View())
	return m.withHelp(b.String())
}

// withHelp puts the help at the bottom of the screen.
func (m *Model) withHelp(body string) string {
	h := m.help.View(m.keys)
	gap := m.height - lipgloss.Height(body) - lipgloss.Height(h)
	// A window too small for the layout gets it cut, never wrapped.
	return lipgloss.NewStyle().MaxWidth(m.width).MaxHeight(m.height).
		Render(body + strings.Repeat("\n", max(1, gap+1)) + h)
}

func (m *Model) titleLine() string {
	st := m.styles
	var parts []string
	if m.latest != nil {
		var in, out float64
		for _, r := range m.list.rows {
			in += r.in
			out += r.out
		}
		parts = append(parts,
			time.UnixMilli(m.latest.GetSecondUnixMs()).UTC().Format("15:04:05 UTC"),
			fmt.Sprintf("%d interfaces", len(m.list.rows)),
			"in "+bitRate(in), "out "+bitRate(out))
		if d := m.latest.GetDropped(); d > 0 {
			parts = append(parts, fmt.Sprintf("%d s missed", d))
		}
	}
	if m.address != "" {
		parts = append(parts, m.address)
	}
	// The state first: a long title is cut at the window's edge.
	line := st.Title.Render("lastfluss live") + " "
	switch {
	case m.connErr != nil:
		line += st.Error.Render("connection lost, retrying: "+oneLine(m.connErr.Error())) + " "
	case m.paused:
		line += st.Error.Render("paused") + " "
	}
	line += st.Subtle.Render(strings.Join(parts, " · "))
	return lipgloss.NewStyle().MaxWidth(m.width).Render(line)
}

// heading names the selected interface, the direction and the order.
func (m *Model) heading() string {
	st := m.styles
	sel, ok := m.list.Selected()
	if !ok {
		return ""
	}
	in, out := st.Subtle.Render(" in "), st.Subtle.Render(" out ")
	total := sel.in
	if m.dir == 0 {
		in = st.In.Reverse(true).Render(" in ")
	} else {
		out = st.Out.Reverse(true).Render(" out ")
		total = sel.out
	}
	desc := []string{bitRate(total)}
	if sel.peerASN != 0 {
		p := fmt.Sprintf("peer AS%d", sel.peerASN)
		if n := m.names[sel.peerASN]; n != "" {
			p += " " + n
		}
		desc = append(desc, p)
	}
	desc = append(desc, "by "+m.asns.sort.String())
	line := st.Heading.Render(sel.key) + "  " + in + out + "  " + st.Subtle.Render(strings.Join(desc, " · "))
	return lipgloss.NewStyle().MaxWidth(m.width).Render(line)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
