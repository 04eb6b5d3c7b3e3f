package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeFlag takes a memory size: bytes, or a number with a unit. KiB, MiB, GiB and
// docker's k, m, g are powers of 1024; kB, MB and GB powers of 1000.
type sizeFlag struct{ bytes *uint64 }

func (f sizeFlag) String() string {
	if f.bytes == nil || *f.bytes == 0 {
		return ""
	}
	return strconv.FormatUint(*f.bytes, 10)
}

func (f sizeFlag) Type() string { return "value" }

func (f sizeFlag) Set(s string) error {
	b, err := parseSize(s)
	if err != nil {
		return err
	}
	*f.bytes = b
	return nil
}

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
}

func parseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+') })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	v, err := strconv.ParseFloat(num, 64)
	mult, known := sizeUnits[unit]
	switch {
	case err != nil || !known || math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%q is not a size: write it like 256MiB, 1.5GiB or 268435456 (bytes)", s)
	case v <= 0:
		return 0, fmt.Errorf("%q: a memory limit must be above 0, like 256MiB", s)
	case v*mult >= 1<<62:
		return 0, fmt.Errorf("%q is larger than any memory limit: give a size like 256MiB", s)
	}
	return uint64(math.Ceil(v * mult)), nil
}
