// Package tssink stores Lastfluss batches in a TimescaleDB hypertable with
// hierarchical continuous aggregates (5m → 1h → 1d by default), retention
// and compression policies. Everything sink-postgres does (ledger, COPY,
// asn table, first-Lastfluss take-over) comes from pgsink.
package tssink

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lastfluss/lastfluss/plugins/sink-postgres/pgsink"
	"github.com/lastfluss/lastfluss/sdk"
)

const (
	day  = 24 * time.Hour
	week = 7 * day
	year = 365 * day
)

// Defaults.
var (
	DefaultChunkInterval = day
	DefaultRollups       = []string{"5m", "1h", "1d"}
)

// Settings are sink-timescale's own settings; the pgsink ones come beside.
type Settings struct {
	ChunkInterval time.Duration
	Levels        []Level
	// Retention per level, raw first; 0 keeps forever. Nil when not set:
	// defaults then depend on whether the table held rows before Lastfluss
	// came (DefaultRetention).
	Retention []time.Duration
	// CompressAfter per level, raw first; 0 is no compression.
	CompressAfter []time.Duration
}

// Level is one rollup: a continuous aggregate of the level below it.
type Level struct {
	Bucket time.Duration
	// The refresh policy materialises buckets from now-StartOffset to
	// now-EndOffset every Schedule; real-time aggregation adds the rest.
	StartOffset, EndOffset, Schedule time.Duration
}

// NewLevel gives a bucket its refresh policy: the last four buckets (at
// least one hour), up to one bucket ago, every bucket (at most hourly).
func NewLevel(bucket time.Duration) Level {
	return Level{
		Bucket:      bucket,
		StartOffset: max(4*bucket, time.Hour),
		EndOffset:   bucket,
		Schedule:    min(bucket, time.Hour),
	}
}

// Suffix names a level's relation: traffic_5m, traffic_1h, traffic_1d.
func (l Level) Suffix() string { return ShortSpan(l.Bucket) }

// Schema is sink-postgres's schema and sink-timescale's attributes.
func Schema() sdk.Schema {
	s := pgsink.Schema()
	s.Attributes = append(s.Attributes,
		sdk.Attribute{Name: "chunk_interval", Type: sdk.TypeDuration, Default: DefaultChunkInterval.String(),
			Description: "chunk_time_interval of the hypertable (new chunks only)"},
		sdk.Attribute{Name: "rollups", Type: sdk.TypeList, Default: DefaultRollups,
			Description: "bucket of each rollup level, finest first, each a multiple of the one before; the collector's interval must divide the first"},
		sdk.Attribute{Name: "retention", Type: sdk.TypeList,
			Description: "how long each level is kept, raw first then each rollup, e.g. [\"30d\", \"180d\", \"2y\", \"forever\"]; default: 30d, 180d, 2y, forever, or forever everywhere on a table that held rows before Lastfluss"},
		sdk.Attribute{Name: "compress_after", Type: sdk.TypeList,
			Description: "age after which each level's chunks are compressed (columnstore), raw first; \"off\" for none; default 7d for raw, 30d for rollups"},
	)
	return s
}

// ParseSettings reads sink-timescale's attributes of a decoded config.
func ParseSettings(cfg sdk.Config) (Settings, error) {
	s := Settings{ChunkInterval: DefaultChunkInterval}
	var errs []error
	if v, ok := cfg["chunk_interval"]; ok {
		d, ok := v.(time.Duration)
		if !ok {
			if str, isStr := v.(string); isStr {
				d, _ = ParseSpan(str)
				ok = d > 0
			}
		}
		if !ok || d < time.Minute {
			errs = append(errs, fmt.Errorf("chunk_interval: want a duration of at least a minute such as \"24h\", got %v", v))
		}
		s.ChunkInterval = d
	}
	rollups := DefaultRollups
	if v, ok := cfg["rollups"]; ok {
		rollups, _ = v.([]string)
	}
	if len(rollups) == 0 {
		errs = append(errs, errors.New("rollups: want at least one level, such as [\"5m\", \"1h\", \"1d\"]"))
	}
	for i, r := range rollups {
		b, err := ParseSpan(r)
		switch {
		case err != nil || b <= 0:
			errs = append(errs, fmt.Errorf("rollups[%d]: %q is not a duration such as \"5m\" or \"1d\"", i, r))
			continue
		case b%time.Minute != 0 || b > 7*day:
			errs = append(errs, fmt.Errorf("rollups[%d]: %s: a bucket is whole minutes, at most 7d", i, r))
			continue
		case b < 7*day && day%b != 0 && b%day != 0:
			errs = append(errs, fmt.Errorf("rollups[%d]: %s does not divide a day: buckets would not align to days", i, r))
			continue
		case i > 0 && len(s.Levels) == i && b%s.Levels[i-1].Bucket != 0:
			errs = append(errs, fmt.Errorf("rollups[%d]: %s is not a multiple of %s: each level is built from the one before", i, r, ShortSpan(s.Levels[i-1].Bucket)))
			continue
		case i > 0 && len(s.Levels) == i && b == s.Levels[i-1].Bucket:
			errs = append(errs, fmt.Errorf("rollups[%d]: %s twice", i, r))
			continue
		}
		s.Levels = append(s.Levels, NewLevel(b))
	}
	if len(errs) > 0 {
		return s, errors.Join(errs...)
	}
	n := len(s.Levels) + 1
	if v, ok := cfg["retention"]; ok {
		l, _ := v.([]string)
		r, err := spans("retention", l, n, "forever")
		errs = append(errs, err)
		s.Retention = r
	}
	s.CompressAfter = DefaultCompressAfter(s.Levels)
	if v, ok := cfg["compress_after"]; ok {
		l, _ := v.([]string)
		c, err := spans("compress_after", l, n, "off")
		errs = append(errs, err)
		s.CompressAfter = c
	}
	if err := errors.Join(errs...); err != nil {
		return s, err
	}
	r := s.Retention
	if r == nil {
		r = DefaultRetention(s.Levels, false)
	}
	return s, s.check(r)
}

// spans reads one value per level, raw first; none is the word for 0.
func spans(name string, l []string, n int, none string) ([]time.Duration, error) {
	if len(l) != n {
		return nil, fmt.Errorf("%s: want %d values (raw, then each rollup), got %d", name, n, len(l))
	}
	out := make([]time.Duration, n)
	var errs []error
	for i, v := range l {
		if v == none {
			continue
		}
		d, err := ParseSpan(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s[%d]: %q is not a duration such as \"30d\" or %q", name, i, v, none))
		}
		out[i] = d
	}
	return out, errors.Join(errs...)
}

// DefaultRetention is the retention when none is configured: everything is
// kept on a table that held rows before Lastfluss came (the operator
// decides what to drop); otherwise raw rows 30 days, rollups finer than an
// hour 180 days, up to a day 2 years, coarser ones forever.
func DefaultRetention(levels []Level, hadRows bool) []time.Duration {
	r := make([]time.Duration, len(levels)+1)
	if hadRows {
		return r
	}
	r[0] = 30 * day
	for i, l := range levels {
		switch {
		case l.Bucket < time.Hour:
			r[i+1] = 180 * day
		case l.Bucket < day:
			r[i+1] = 2 * year
		}
	}
	return r
}

// DefaultCompressAfter compresses raw chunks after 7 days and rollups
// after 30 (or 8 buckets, if later).
func DefaultCompressAfter(levels []Level) []time.Duration {
	c := []time.Duration{7 * day}
	for _, l := range levels {
		c = append(c, max(30*day, 8*l.Bucket))
	}
	return c
}

// check refuses retentions that would drop a level's rows before the
// level above has aggregated them, and compression inside a refresh
// window (TimescaleDB refuses it).
func (s Settings) check(retention []time.Duration) error {
	var errs []error
	for i, l := range s.Levels {
		if retention != nil {
			need := l.StartOffset + l.Bucket
			if r := retention[i]; r != 0 && r <= need {
				errs = append(errs, fmt.Errorf("retention[%d]: %s drops rows before the %s rollup has aggregated them; keep them longer than %s",
					i, ShortSpan(r), l.Suffix(), ShortSpan(need)))
			}
		}
		if c := s.CompressAfter[i+1]; c != 0 && c <= l.StartOffset {
			errs = append(errs, fmt.Errorf("compress_after[%d]: %s is inside the %s rollup's refresh window; want more than %s",
				i+1, ShortSpan(c), l.Suffix(), ShortSpan(l.StartOffset)))
		}
	}
	return errors.Join(errs...)
}

// ParseSpan reads a Go duration or a whole number of days ("30d"), weeks
// ("2w") or years of 365 days ("1y").
func ParseSpan(s string) (time.Duration, error) {
	if n := len(s); n > 1 {
		unit := map[byte]time.Duration{'d': day, 'w': week, 'y': year}[s[n-1]]
		if unit != 0 {
			v, err := strconv.ParseInt(s[:n-1], 10, 32)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("%q: want a whole number before %c", s, s[n-1])
			}
			return time.Duration(v) * unit, nil
		}
	}
	return time.ParseDuration(s)
}

// ShortSpan writes d the shortest way: 5m, 1h, 1d, 90s, 30d.
func ShortSpan(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}
