package servers

import (
	"strings"
	"testing"
)

func TestCargoFailuresSayWhatToRun(t *testing.T) {
	for _, c := range []struct {
		out  string
		src  CargoSource
		want string
	}{
		{"error: failed to get `hyper` as a dependency\nCaused by:\n  [6] Could not resolve host: index.crates.io", SourceCratesIO, "run scripts/setup.sh"},
		{"error: no matching package named `tokio-macros` found", SourceDebian, "Debian's crate sources lack a crate"},
		{"error: rustup could not choose a version of cargo to run, because one wasn't specified explicitly, and no default is configured.\nhelp: run 'rustup default stable' to download the latest stable release of Rust and set it as your default toolchain.", SourceDebian, "rustup default stable"},
	} {
		if got := cargoHint(strings.Split(c.out, "\n"), c.src); !strings.Contains(got, c.want) {
			t.Errorf("%q: hint %q, want %q", c.out, got, c.want)
		}
	}
}
