package units

import "testing"

func TestFormats(t *testing.T) {
	for _, c := range []struct {
		name, got, want string
	}{
		{"MiBs", MiBs(0), "0.0 MiB"},
		{"MiBs", MiBs(12.34 * MiB), "12.3 MiB"},
		{"MiBs", MiBs(3 * GiB), "3072.0 MiB"},
		{"WholeMiBs", WholeMiBs(256 * MiB), "256 MiB"},
		{"WholeMiBs", WholeMiBs(256*MiB + MiB/2), "256.5 MiB"},
		{"ShortMiBs", ShortMiBs(12.34 * MiB), "12.3M"},
		{"ShortMiBs", ShortMiBs(1023.9 * MiB), "1023.9M"},
		{"ShortMiBs", ShortMiBs(1.25 * GiB), "1.25G"},
		{"Bytes", Bytes(512), "512 B"},
		{"Bytes", Bytes(3.2 * KiB), "3.2 KiB"},
		{"Bytes", Bytes(12.34 * MiB), "12.3 MiB"},
		{"Bytes", Bytes(1.25 * GiB), "1.25 GiB"},
		{"WholeKiBs", WholeKiBs(2047), "1"},
		{"WholeKiBs", WholeKiBs(64 * MiB), "65536"},
		{"Count", Count(9876), "9876"},
		{"Count", Count(12345), "12.3k"},
		{"Count", Count(1234567), "1.23M"},
		{"ShortCount", ShortCount(987), "987"},
		{"ShortCount", ShortCount(1234), "1.2k"},
		{"ShortCount", ShortCount(3.45e6), "3.5M"},
		{"SI", SI(987), "987 "},
		{"SI", SI(1234), "1.2 k"},
		{"SI", SI(3.456e6), "3.46 M"},
		{"SI", SI(1.2e9), "1.20 G"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if got, want := InMiB(3*MiB), 3.0; got != want {
		t.Errorf("InMiB: got %v, want %v", got, want)
	}
}
