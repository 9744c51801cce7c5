package dispatch

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

const crashWriterEnv = "LASTFLUSS_DISPATCH_CRASH_WRITER"

// TestMain lets the test binary double as a process that writes batches
// into a queue until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashWriterEnv); dir != "" {
		crashWriter(dir)
		return
	}
	os.Exit(m.Run())
}

// crashWriter appends batches whose IDs follow their position in the queue
// and prints how many are durably queued after each.
func crashWriter(dir string) {
	q, err := OpenQueue(discardLogger(), dir, QueueConfiguration{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Big batches built once: the process spends its time writing.
	b := testBatch("", 200_000)
	for i := q.Len(); ; i++ {
		b.ID = batchID(i)
		if _, err := q.PutBatch(b); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(i + 1)
	}
}

// TestQueueSurvivesKill kills a writing process at random points, again and
// again on the same queue: every batch it reported is there, every file
// decodes, the sequence has no gap, and interrupted writes are cleared.
func TestQueueSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	reported, interrupted := 0, 0
	for round := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashWriterEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		target := reported + 2
		for reported < target && lines.Scan() {
			if reported, err = strconv.Atoi(lines.Text()); err != nil {
				t.Fatalf("writer said %q", lines.Text())
			}
		}
		if reported < target {
			t.Fatalf("round %d: writer stopped at %d batches", round, reported)
		}
		// Somewhere inside the next write, or the encoding before it.
		time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		for lines.Scan() { // what it printed before dying counts too
			if n, err := strconv.Atoi(lines.Text()); err == nil {
				reported = n
			}
		}
		for _, name := range dirNames(t, dir) {
			if strings.HasPrefix(name, tempPrefix) {
				interrupted++
			}
		}

		q := openQueue(t, dir, QueueConfiguration{})
		entries := q.Entries()
		if len(entries) < reported {
			t.Fatalf("round %d: %d batches queued, the writer reported %d", round, len(entries), reported)
		}
		reported = len(entries)
		for i, e := range entries {
			if e.Seq != uint64(i+1) {
				t.Fatalf("round %d: entry %d has seq %d: a gap", round, i, e.Seq)
			}
			b, err := q.Read(e)
			if err != nil {
				t.Fatalf("round %d: seq %d after the kill: %v", round, e.Seq, err)
			}
			if b.ID != batchID(i) {
				t.Fatalf("round %d: seq %d holds %s, want %s", round, e.Seq, b.ID, batchID(i))
			}
		}
		for _, name := range dirNames(t, dir) {
			if strings.HasPrefix(name, tempPrefix) {
				t.Fatalf("interrupted write %s still there after reopening", name)
			}
		}
	}
	t.Logf("%d batches written by 8 killed processes, %d writes interrupted", reported, interrupted)
}
