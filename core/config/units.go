package config

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Byte sizes: SI (KB = 1000) and IEC (KiB = 1024) units, case-insensitive.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1e6, "mb": 1e6, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1e9, "gb": 1e9, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1e12, "tb": 1e12, "ti": 1 << 40, "tib": 1 << 40,
}

// Speeds in bit/s: SI units only, as interface speeds are given.
var speedUnits = map[string]int64{
	"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12,
}

// splitQuantity splits "1.5 GiB" into an exact number and a lower-case unit.
func splitQuantity(s string) (*big.Rat, string, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	if num == "" || strings.Count(num, ".") > 1 || num[0] == '.' || num[len(num)-1] == '.' {
		return nil, "", fmt.Errorf("it does not start with a number")
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return nil, "", fmt.Errorf("it does not start with a number")
	}
	return r, unit, nil
}

// parseQuantity reads a whole, positive quantity no larger than max.
func parseQuantity(s string, units map[string]int64, max *big.Int, what string) (*big.Int, error) {
	r, unit, err := splitQuantity(s)
	if err != nil {
		return nil, err
	}
	mul, ok := units[unit]
	if !ok {
		return nil, fmt.Errorf("unknown unit %q", unit)
	}
	r.Mul(r, new(big.Rat).SetInt64(mul))
	if !r.IsInt() {
		return nil, fmt.Errorf("it is not a whole number of %s", what)
	}
	n := r.Num()
	if n.Sign() <= 0 {
		return nil, fmt.Errorf("it must be greater than zero")
	}
	if n.Cmp(max) > 0 {
		return nil, fmt.Errorf("it is larger than the maximum, %s %s", max, what)
	}
	return n, nil
}

// ParseSize reads a size in bytes no larger than max: "32MiB", "8MB",
// "1048576", "1.5GiB". Units are case-insensitive; K, M, G, T are SI.
func ParseSize(s string, max int64) (int64, error) {
	n, err := parseQuantity(s, sizeUnits, big.NewInt(max), "bytes")
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %w", s, err)
	}
	return n.Int64(), nil
}

// ParseSpeed reads a speed in bit/s: "100G", "400M", "2.5G", "10000000".
// An optional "bps" or "bit/s" after the unit is accepted.
func ParseSpeed(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	for _, suffix := range []string{"bit/s", "bps"} {
		if len(t) > len(suffix) && strings.EqualFold(t[len(t)-len(suffix):], suffix) {
			t = t[:len(t)-len(suffix)]
			break
		}
	}
	n, err := parseQuantity(t, speedUnits, new(big.Int).SetUint64(math.MaxUint64), "bit/s")
	if err != nil {
		return 0, fmt.Errorf("invalid speed %q: %w", s, err)
	}
	return n.Uint64(), nil
}

// FormatSize renders bytes with the largest IEC unit that divides them.
func FormatSize(n int64) string {
	for _, u := range []struct {
		s string
		v int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.v == 0 {
			return strconv.FormatInt(n/u.v, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10)
}

// FormatSpeed renders bit/s with the largest SI unit that divides them.
func FormatSpeed(n uint64) string {
	for _, u := range []struct {
		s string
		v uint64
	}{{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"K", 1e3}} {
		if n != 0 && n%u.v == 0 {
			return strconv.FormatUint(n/u.v, 10) + u.s
		}
	}
	return strconv.FormatUint(n, 10)
}

// FormatDuration renders "1m" rather than time.Duration's "1m0s".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
