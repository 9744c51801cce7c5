package config

import (
	"math"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"32MiB", 32 << 20, true},
		{"8MB", 8e6, true},
		{"1048576", 1 << 20, true},
		{"1.5GiB", 3 << 29, true},
		{"1 gib", 1 << 30, true},
		{"2k", 2000, true},
		{"3KiB", 3072, true},
		{"1GiB", 1 << 30, true},
		{"0", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"0.1B", 0, false},
		{"MiB", 0, false},
		{"", 0, false},
		{"1..5MiB", 0, false},
		{".5MiB", 0, false},
		{"5.MiB", 0, false},
		{"32MiBs", 0, false},
		{"2GiB", 0, false}, // above the maximum below
		{"99999999999999999999999999TiB", 0, false},
	} {
		got, err := ParseSize(tc.in, math.MaxInt32)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseSpeed(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"100G", 100e9, true},
		{"10G", 10e9, true},
		{"400M", 400e6, true},
		{"2.5G", 2.5e9, true},
		{"100g", 100e9, true},
		{"10Gbps", 10e9, true},
		{"10 Gbit/s", 10e9, true},
		{"1000000", 1e6, true},
		{"18446744073709551615", math.MaxUint64, true},
		{"18446744073709551616", 0, false},
		{"100T", 100e12, true},
		{"1.5", 0, false},
		{"0", 0, false},
		{"100GiB", 0, false}, // a speed is not a size
		{"bps", 0, false},
		{"fast", 0, false},
	} {
		got, err := ParseSpeed(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSpeed(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// The formats are what Effective writes: they must parse back.
func TestFormatRoundTrip(t *testing.T) {
	for _, n := range []int64{1, 1000, 1024, 32 << 20, 1 << 30, 3 << 29, 1<<40 + 1, 5 << 40} {
		s := FormatSize(n)
		got, err := ParseSize(s, math.MaxInt64)
		if err != nil || got != n {
			t.Errorf("ParseSize(FormatSize(%d) = %q) = %d, %v", n, s, got, err)
		}
	}
	for _, n := range []uint64{1, 999, 1000, 400e6, 100e9, 2.5e9, 100e12, math.MaxUint64} {
		s := FormatSpeed(n)
		got, err := ParseSpeed(s)
		if err != nil || got != n {
			t.Errorf("ParseSpeed(FormatSpeed(%d) = %q) = %d, %v", n, s, got, err)
		}
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{time.Minute, "1m"},
		{time.Hour, "1h"},
		{90 * time.Second, "1m30s"},
		{10 * time.Second, "10s"},
		{1500 * time.Millisecond, "1.5s"},
		{time.Hour + time.Minute, "1h1m"},
	} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
		if back, err := time.ParseDuration(tc.want); err != nil || back != tc.d {
			t.Errorf("time.ParseDuration(%q) = %v, %v", tc.want, back, err)
		}
	}
}
