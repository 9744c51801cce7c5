package main

import (
	"os"
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
		before := strings.Count(c.stderr.String(), logWant)
		if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for strings.Count(c.stderr.String(), logWant) == before {
			time.Sleep(20 * time.Millisecond)
		}
	}
	hup(string(orig)+"\nbroken {\n", "keeping the running one")
	hup(strings.Replace(string(orig), `interval     = "1s"`, `interval     = "2s"`, 1), "needs a restart")
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
	c.waitFlows(t, sumTruth(a, b))
	c.stop(t)
	compareTotals(t, s.jsonl, a, b)
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
