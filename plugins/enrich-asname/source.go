package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// format of a names file.
type format string

const (
	formatRIPE      format = "ripe"
	formatPeeringDB format = "peeringdb"
)

// fileSource is one names file and the table last loaded from it. Lookups
// read the table without a lock; a reload swaps it.
type fileSource struct {
	path   string
	format format
	log    *slog.Logger

	tbl atomic.Pointer[table]

	mu      sync.Mutex // serialises loads
	modTime time.Time  // of the file last loaded
	size    int64
}

func newFileSource(path string, f format, log *slog.Logger) *fileSource {
	return &fileSource{path: path, format: f, log: log.With("file", path, "format", string(f))}
}

// errEmpty refuses a reload that found nothing: a file truncated by a
// failed download must not wipe the names.
var errEmpty = errors.New("no entry in the file")

// load reads the file if it changed since the last load (always when force)
// and swaps the table in. A failed load keeps the previous table.
func (s *fileSource) load(force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("read AS names %s: %w", s.path, err)
	}
	if !force && fi.ModTime().Equal(s.modTime) && fi.Size() == s.size {
		return nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("read AS names %s: %w", s.path, err)
	}
	defer f.Close()
	start := time.Now()
	t, st, err := s.parse(f)
	if err != nil {
		return fmt.Errorf("read AS names %s: %w", s.path, err)
	}
	for _, b := range st.FirstBad {
		s.log.Warn("malformed AS names line skipped", "line", b.Line, "reason", b.Reason)
	}
	if st.Malformed > len(st.FirstBad) {
		s.log.Warn("more malformed AS names lines skipped", "logged", len(st.FirstBad), "malformed", st.Malformed)
	}
	if t.Len() == 0 && s.tbl.Load().Len() > 0 {
		return fmt.Errorf("read AS names %s: %w (%d malformed), keeping the %d names loaded before", s.path, errEmpty, st.Malformed, s.tbl.Load().Len())
	}
	s.tbl.Store(t)
	s.modTime, s.size = fi.ModTime(), fi.Size()
	s.log.Info("AS names loaded", "asns", t.Len(), "malformed", st.Malformed,
		"bytes", t.Bytes(), "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

func (s *fileSource) parse(r io.Reader) (*table, loadStats, error) {
	if s.format == formatPeeringDB {
		return loadPeeringDB(r)
	}
	return loadRIPE(r)
}
