// Command lastfluss-sink-jsonl is a Lastfluss sink that appends one JSON
// object per row to a file. It is the example to copy when writing a sink:
// short, and idempotent the way every sink must be.
//
// Build it into the plugin directory:
//
//	go build -o bin/plugins/lastfluss-sink-jsonl ./examples/custom-sink
//
// and configure it:
//
//	sink "jsonl" {
//	  plugin = "sink-jsonl"
//	  config {
//	    path = "/var/lib/lastfluss/flows.jsonl"
//	  }
//	}
//
// Idempotence: the core redelivers a batch when it is not sure the sink got
// it (the sink crashed, the core restarted). The sink keeps a ledger next to
// the output, path + ".ledger", with one line per committed batch: its id and
// the output's size after its rows. The ledger line is written only after the
// rows are on disk, so:
//   - a batch id in the ledger is stored: a redelivery is skipped;
//   - rows past the last ledger offset belong to a batch that was not
//     committed (a crash between the two writes): they are cut off at start,
//     and the core delivers that batch again.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/lastfluss/lastfluss/sdk"
)

func main() {
	sdk.ServeSink(&jsonlSink{log: sdk.Logger()})
}

type jsonlSink struct {
	log *slog.Logger

	mu         sync.Mutex
	out        *os.File // the JSON-lines output, append only
	ledger     *os.File // one ledgerEntry per line, append only
	committed  map[string]bool
	size       int64 // size of out after the last committed batch
	ledgerSize int64 // size of the ledger after its last complete line
}

var _ sdk.Sink = (*jsonlSink)(nil)

func (s *jsonlSink) Info() sdk.Info {
	return sdk.Info{Name: "sink-jsonl", Kind: sdk.KindSink, Version: "1.0.0", APIVersion: sdk.APIVersion}
}

func (s *jsonlSink) ConfigSchema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "path", Type: sdk.TypeString, Required: true, Description: "file the rows are appended to, one JSON object per line"},
	}}
}

// ledgerEntry records one committed batch.
type ledgerEntry struct {
	BatchID string `json:"batch_id"`
	End     int64  `json:"end"` // size of the output after the batch's rows
}

func (s *jsonlSink) Configure(_ context.Context, cfg sdk.Config) error {
	path := cfg.String("path")
	if path == "" {
		return errors.New("path is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.close()

	ledger, committed, end, err := openLedger(path + ".ledger")
	if err != nil {
		return err
	}
	out, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		ledger.Close()
		return fmt.Errorf("open output: %w", err)
	}
	s.out, s.ledger, s.committed = out, ledger, committed
	fi, err := out.Stat()
	if err != nil {
		s.close()
		return fmt.Errorf("open output: %w", err)
	}
	switch size := fi.Size(); {
	case size > end:
		// Rows of a batch that never reached the ledger: drop them, the core
		// sends that batch again.
		s.log.Warn("cutting rows of an uncommitted batch", "path", path, "size", size, "committed", end)
		if err := truncate(out, end); err != nil {
			s.close()
			return fmt.Errorf("cut output back to the last committed batch: %w", err)
		}
	case size < end:
		s.log.Warn("output is shorter than the ledger says; assuming it was rotated", "path", path, "size", size, "committed", end)
		end = size
	}
	s.size = end
	if li, err := ledger.Stat(); err == nil {
		s.ledgerSize = li.Size()
	}
	s.log.Info("configured", "path", path, "committed_batches", len(committed))
	return nil
}

// openLedger reads the committed batches and the output offset after the
// last one. A torn last line (a crash while appending it) is cut off: its
// batch counts as not committed.
func openLedger(path string) (*os.File, map[string]bool, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("open ledger: %w", err)
	}
	committed := map[string]bool{}
	var end, good int64
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		var e ledgerEntry
		if err != nil || json.Unmarshal(line, &e) != nil {
			break
		}
		committed[e.BatchID] = true
		end = e.End
		good += int64(len(line))
	}
	if err := truncate(f, good); err != nil {
		f.Close()
		return nil, nil, 0, fmt.Errorf("cut torn ledger line: %w", err)
	}
	return f, committed, end, nil
}

// row is one line of the output.
type row struct {
	BatchID         string  `json:"batch_id"`
	Time            string  `json:"time"`
	IntervalSeconds int64   `json:"interval_seconds"`
	Exporter        string  `json:"exporter"`
	Interface       string  `json:"interface"`
	Role            string  `json:"role"`
	Direction       string  `json:"direction"`
	RemoteASN       *uint32 `json:"remote_asn"` // null on other rows
	LocalASN        *uint32 `json:"local_asn"`
	IPVersion       uint8   `json:"ip_version"`
	Bytes           uint64  `json:"bytes"`
	Packets         uint64  `json:"packets"`
	Flows           uint64  `json:"flows"`
	Other           bool    `json:"other"`
	RemoteASName    string  `json:"remote_as_name,omitempty"`
	LocalASName     string  `json:"local_as_name,omitempty"`
}

func (s *jsonlSink) Write(_ context.Context, b *sdk.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return errors.New("not configured")
	}
	if s.committed[b.ID] {
		s.log.Info("batch already committed, skipping", "batch", b.ID)
		return nil
	}

	if err := s.commit(b); err != nil {
		// Leave no half batch and no torn ledger line behind for the retry
		// to follow (should this fail too, the next start cuts them off).
		_ = truncate(s.out, s.size)
		_ = truncate(s.ledger, s.ledgerSize)
		return fmt.Errorf("write batch %s: %w", b.ID, err)
	}
	s.log.Debug("batch committed", "batch", b.ID, "rows", len(b.Rows))
	return nil
}

// commit writes the rows, and only once they are on disk the ledger line
// that makes the batch committed.
func (s *jsonlSink) commit(b *sdk.Batch) error {
	if err := s.writeRows(b); err != nil {
		return err
	}
	fi, err := s.out.Stat()
	if err != nil {
		return err
	}
	line, _ := json.Marshal(ledgerEntry{BatchID: b.ID, End: fi.Size()})
	if _, err := s.ledger.Write(append(line, '\n')); err != nil {
		return err
	}
	if err := s.ledger.Sync(); err != nil {
		return err
	}
	s.committed[b.ID] = true
	s.size = fi.Size()
	s.ledgerSize += int64(len(line)) + 1
	return nil
}

func (s *jsonlSink) writeRows(b *sdk.Batch) error {
	w := bufio.NewWriterSize(s.out, 1<<20)
	enc := json.NewEncoder(w)
	start := b.Start.UTC().Format(time.RFC3339)
	for _, r := range b.Rows {
		iface := b.Interfaces[r.Interface]
		out := row{
			BatchID:         b.ID,
			Time:            start,
			IntervalSeconds: int64(b.Interval / time.Second),
			Exporter:        iface.Exporter,
			Interface:       iface.Name,
			Role:            iface.Role,
			Direction:       r.Direction.String(),
			IPVersion:       r.IPVersion,
			Bytes:           r.Bytes,
			Packets:         r.Packets,
			Flows:           r.Flows,
			Other:           r.Other,
		}
		if !r.Other {
			out.RemoteASN, out.LocalASN = &r.RemoteASN, &r.LocalASN
			out.RemoteASName = b.ASNames[r.RemoteASN].Name
			out.LocalASName = b.ASNames[r.LocalASN].Name
		}
		if err := enc.Encode(&out); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return s.out.Sync()
}

// close releases the files of a previous configuration.
func (s *jsonlSink) close() {
	if s.out != nil {
		s.out.Close()
		s.ledger.Close()
	}
	s.out, s.ledger = nil, nil
}

func truncate(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}
