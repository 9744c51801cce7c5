package tui

import "charm.land/bubbles/v2/key"

// keyMap holds every key the TUI answers to; the help line is made from it.
type keyMap struct {
	Up        key.Binding
	Down      key.Binding
	Top       key.Binding
	Bottom    key.Binding
	Direction key.Binding
	Sort      key.Binding
	Order     key.Binding
	Pause     key.Binding
	Help      key.Binding
	Quit      key.Binding
}

func defaultKeyMap() keyMap {
	return keyMap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Top:       key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Bottom:    key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
		Direction: key.NewBinding(key.WithKeys("tab", "d"), key.WithHelp("tab/d", "in ⇄ out")),
		Sort:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort ASNs")),
		Order:     key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "order interfaces")),
		Pause:     key.NewBinding(key.WithKeys("p", "space"), key.WithHelp("p", "pause")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q", "esc", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the one-line help (help.KeyMap).
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Direction, k.Sort, k.Help, k.Quit}
}

// FullHelp is the help shown with ? (help.KeyMap).
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom},
		{k.Direction, k.Sort, k.Order, k.Pause},
		{k.Help, k.Quit},
	}
}
