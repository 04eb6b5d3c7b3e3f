package main

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{
		"256MiB": 256 << 20, "256m": 256 << 20, "1.5GiB": 3 << 29, "1g": 1 << 30, "64KiB": 64 << 10,
		"100MB": 100e6, "268435456": 268435456, " 2 GiB ": 2 << 30,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1MiB", "lots", "5 parsecs", "NaN", "1e30GiB", "MiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d; want an error", in, got)
		}
	}
}
