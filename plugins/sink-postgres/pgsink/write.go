package pgsink

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lastfluss/lastfluss/sdk"
)

// Columns are the traffic columns a batch fills, in COPY order.
var Columns = []string{
	"time", "bandwidth", "iface", "ingress", "remote_asn", "local_asn",
	"exporter", "role", "ip_version", "bytes", "packets", "flows",
	"interval_seconds", "collector", "other",
}

// WriteBatch stores b in t in one transaction: the batch id into the
// ledger first, then the rows through COPY, then the batch's AS names.
// It returns stored=false and no error when the ledger already holds the
// id: a redelivered batch is a no-op. On any error (a lost connection
// included) the transaction is rolled back and nothing of b is stored.
func WriteBatch(ctx context.Context, pool *pgxpool.Pool, t Table, b *sdk.Batch) (stored bool, err error) {
	src, err := newRowSource(b)
	if err != nil {
		return false, err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin batch %s: %w", b.ID, err)
	}
	// After a commit this is a no-op; after a lost connection it fails and
	// the server has rolled back already.
	defer tx.Rollback(context.WithoutCancel(ctx))

	// First: a concurrent delivery of the same id waits here on the primary
	// key until this transaction ends, then finds the row.
	tag, err := tx.Exec(ctx, `INSERT INTO lastfluss_batches (tbl, batch_id, rows)
VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, t.String(), b.ID, int64(len(b.Rows)))
	if err != nil {
		return false, fmt.Errorf("record batch %s in the ledger: %w", b.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if len(b.Rows) > 0 {
		n, err := tx.CopyFrom(ctx, t.Ident(), Columns, src)
		if err != nil {
			return false, fmt.Errorf("copy %d rows of batch %s into %s: %w", len(b.Rows), b.ID, t, err)
		}
		if n != int64(len(b.Rows)) {
			return false, fmt.Errorf("copy batch %s into %s: %d rows stored of %d", b.ID, t, n, len(b.Rows))
		}
	}
	if err := upsertASNames(ctx, tx, b.ASNames); err != nil {
		return false, fmt.Errorf("batch %s: %w", b.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit batch %s: %w", b.ID, err)
	}
	return true, nil
}

// upsertASNames writes the batch's AS names; unchanged rows are not
// rewritten, so updated_at is when the information last changed. ASNs go
// in ascending order so that two collectors upserting the same ASNs lock
// them in the same order and cannot deadlock.
func upsertASNames(ctx context.Context, tx pgx.Tx, names map[uint32]sdk.ASInfo) error {
	if len(names) == 0 {
		return nil
	}
	asns := make([]int64, 0, len(names))
	for asn := range names {
		asns = append(asns, int64(asn))
	}
	slices.Sort(asns)
	name := make([]*string, len(asns))
	desc := make([]*string, len(asns))
	country := make([]*string, len(asns))
	for i, asn := range asns {
		info := names[uint32(asn)]
		name[i], desc[i], country[i] = nullable(info.Name), nullable(info.Description), nullable(info.Country)
	}
	_, err := tx.Exec(ctx, `INSERT INTO asn AS a (asn, name, description, country, updated_at)
SELECT u.asn, u.name, u.description, u.country, now()
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS u(asn, name, description, country)
ORDER BY u.asn
ON CONFLICT (asn) DO UPDATE
SET name = EXCLUDED.name, description = EXCLUDED.description, country = EXCLUDED.country, updated_at = now()
WHERE (a.name, a.description, a.country) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.description, EXCLUDED.country)`,
		asns, name, desc, country)
	if err != nil {
		return fmt.Errorf("upsert %d AS names: %w", len(asns), err)
	}
	return nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ifaceValues are an interface's column values, boxed once per batch.
type ifaceValues struct {
	name, exporter, role any
}

// rowSource feeds a batch's rows to COPY, reusing one value slice.
type rowSource struct {
	b         *sdk.Batch
	i         int
	vals      []any
	ifaces    []ifaceValues
	start     any
	collector any
	secs      float64
	intSecs   any
	err       error
}

func newRowSource(b *sdk.Batch) (*rowSource, error) {
	if b.Interval < time.Second || b.Interval%time.Second != 0 {
		return nil, fmt.Errorf("batch %s: interval %v is not whole seconds", b.ID, b.Interval)
	}
	if b.ID == "" {
		return nil, errors.New("batch without an id")
	}
	s := &rowSource{
		b:         b,
		i:         -1,
		vals:      make([]any, len(Columns)),
		ifaces:    make([]ifaceValues, len(b.Interfaces)),
		start:     b.Start.UTC(),
		collector: nullAny(b.CollectorID),
		secs:      b.Interval.Seconds(),
		intSecs:   int32(b.Interval / time.Second),
	}
	for i, ifc := range b.Interfaces {
		s.ifaces[i] = ifaceValues{name: ifc.Name, exporter: ifc.Exporter, role: nullAny(ifc.Role)}
	}
	return s, nil
}

func nullAny(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *rowSource) Next() bool {
	s.i++
	return s.err == nil && s.i < len(s.b.Rows)
}

func (s *rowSource) Values() ([]any, error) {
	r := &s.b.Rows[s.i]
	if int(r.Interface) >= len(s.ifaces) {
		s.err = fmt.Errorf("row %d: interface %d not in the batch's %d interfaces", s.i, r.Interface, len(s.ifaces))
		return nil, s.err
	}
	if r.Bytes > math.MaxInt64 || r.Packets > math.MaxInt64 || r.Flows > math.MaxInt64 {
		s.err = fmt.Errorf("row %d: counter beyond BIGINT", s.i)
		return nil, s.err
	}
	ifc := &s.ifaces[r.Interface]
	v := s.vals
	v[0] = s.start
	v[1] = float32(float64(r.Bytes) * 8 / s.secs)
	v[2] = ifc.name
	v[3] = r.Direction == sdk.In
	if r.Other {
		v[4], v[5] = nil, nil
	} else {
		v[4], v[5] = int64(r.RemoteASN), int64(r.LocalASN)
	}
	v[6] = ifc.exporter
	v[7] = ifc.role
	if r.IPVersion == 0 {
		v[8] = nil
	} else {
		v[8] = int16(r.IPVersion)
	}
	v[9] = int64(r.Bytes)
	v[10] = int64(r.Packets)
	v[11] = int64(r.Flows)
	v[12] = s.intSecs
	v[13] = s.collector
	v[14] = r.Other
	return v, nil
}

func (s *rowSource) Err() error { return s.err }
