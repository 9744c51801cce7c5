package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lastfluss/lastfluss/core/flowgen"
)

// TestReload: SIGHUP with a broken configuration keeps the running one;
// a change that needs a restart is reported; a new sink starts receiving
// batches while the first keeps its own, and no interval is lost.
func TestReload(t *testing.T) {
	s := newSetup(t, "1s", "", "-exporters", "4", "-malformed", "0")
	c := s.start(t)
	a := s.send(t, "-flows", "8000", "-rate", "20000", "-seed", "11")
	c.waitFlows(t, a)
	waitTotals(t, s.jsonl, a)

	orig, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	hup := func(src string, logWant string) {
		t.Helper()
		if err := os.WriteFile(s.config, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		// Every reload ends in one of these lines; wait for it, then see
		// whether the one wanted came with it.
		ended := func() int {
			log := c.stderr.String()
			return strings.Count(log, "msg=reloaded") + strings.Count(log, "keeping the running one")
		}
		before, wantBefore := ended(), strings.Count(c.stderr.String(), logWant)
		if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for ended() == before {
			time.Sleep(20 * time.Millisecond)
		}
		if strings.Count(c.stderr.String(), logWant) == wantBefore {
			t.Fatalf("reload did not log %q:\n%s", logWant, tail(c.stderr.String(), 20))
		}
	}
	socket := filepath.Join(s.dir, "var", "lastfluss.sock")
	hup(string(orig)+"\nbroken {\n", "keeping the running one")
	hup(strings.Replace(string(orig), `interval     = "1s"`, `interval     = "2s"`, 1), "needs a restart")
	if got := statusOf(t, "-socket", socket).IntervalMs; got != 1000 {
		t.Errorf("status shows an interval of %d ms after a reload that could not apply it; want the running 1000", got)
	}

	// A block its plugin refuses, with an exporter moved in the same file:
	// none of it applies, the exporter included.
	refused := strings.Replace(string(orig), `address = "127.0.0.10"`, `address = "192.0.2.250"`, 1) + `
sink "bad" {
  plugin = "sink-jsonl"
  config {
    no_such_setting = 1
  }
}
`
	hup(refused, "plugins refused the configuration")
	st := statusOf(t, "-socket", socket)
	if len(st.Exporters) == 0 || st.Exporters[0].Name != "gen0" || st.Exporters[0].Address != "127.0.0.10" {
		t.Fatalf("after a refused reload status shows exporters %v; want gen0 still at 127.0.0.10", st.Exporters)
	}
	for _, sk := range st.Sinks {
		if sk.Name == "bad" {
			t.Errorf("the refused sink %q runs", sk.Name)
		}
	}
	mid := s.send(t, "-flows", "4000", "-rate", "20000", "-seed", "13")
	c.waitFlows(t, sumTruth(a, mid)) // gen0's flows still count
	waitTotals(t, s.jsonl, a, mid)   // and are delivered before the next sink comes
	second := s.jsonl + ".2"
	withSink := strings.Replace(string(orig), `sink "file" {`, `sink "second" {
  plugin = "sink-jsonl"
  config {
    path = "`+second+`"
  }
}
sink "file" {`, 1)
	hup(withSink, "reloaded")

	b := s.send(t, "-flows", "8000", "-rate", "20000", "-seed", "12")
	c.waitFlows(t, sumTruth(a, mid, b))
	c.stop(t)
	compareTotals(t, s.jsonl, a, mid, b)
	compareTotals(t, second, b)
}

// waitTotals waits until the sink's file holds the truth's totals.
func waitTotals(t *testing.T, path string, truths ...*flowgen.Truth) {
	t.Helper()
	w := want(truths...)
	for {
		if size(path) > 0 {
			if got, _ := totals(t, path); cmp.Equal(got, w) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sumTruth adds the per-exporter counters of several runs, for waitFlows.
func sumTruth(truths ...*flowgen.Truth) *flowgen.Truth {
	sum := &flowgen.Truth{}
	idx := make(map[string]int)
	for _, tr := range truths {
		for _, e := range tr.Exporters {
			i, ok := idx[e.Name]
			if !ok {
				i = len(sum.Exporters)
				idx[e.Name] = i
				sum.Exporters = append(sum.Exporters, flowgen.TruthExporter{Name: e.Name})
			}
			sum.Exporters[i].FlowsSent += e.FlowsSent
		}
	}
	return sum
}
