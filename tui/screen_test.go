package tui

import (
	"bytes"
	"io"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// TestScreen runs the whole program in teatest at a fixed size, feeds it
// two seconds and some keys, and compares the final screen with
// testdata/TestScreen.golden (go test ./tui -update rewrites it).
func TestScreen(t *testing.T) {
	tm := teatest.NewTestModel(t, New(Options{Address: "var/lastfluss.sock"}), teatest.WithInitialTermSize(100, 30))
	tm.Send(UpdateMsg{second(1_800_000_000)})
	u := second(1_800_000_001)
	u.Dropped = 2
	tm.Send(UpdateMsg{u})
	tm.Send(tea.KeyPressMsg{Code: tea.KeyTab}) // out
	tm.Send(tea.KeyPressMsg{Code: tea.KeyTab}) // in again
	tm.Send(tea.KeyPressMsg{Code: 's', Text: "s"})
	tm.Send(tea.KeyPressMsg{Code: '?', Text: "?"})
	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	out, err := io.ReadAll(tm.FinalOutput(t))
	if err != nil {
		t.Fatal(err)
	}
	// The program drew the screen on its terminal too.
	for _, want := range []string{"CLOUDFLARENET", "order interfaces"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the terminal never showed %q:\n%q", want, out)
		}
	}
	golden.RequireEqual(t, ansi.Strip(tm.FinalModel(t).View().Content))
}
