package servers

import (
	"bufio"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/allocscope/allocscope/atomicfile"
)

// The crate is embedded so that an installed allocscope binary can build its servers anywhere.
//
//go:embed server/Cargo.toml server/build.rs server/src
var crate embed.FS

// DebianRegistry is where Debian's librust-*-dev packages put crate sources.
const DebianRegistry = "/usr/share/cargo/registry"

// CargoSource selects where cargo finds the server's dependencies.
type CargoSource string

// Cargo sources: auto picks Debian's registry when it holds hyper and tokio.
const (
	SourceAuto     CargoSource = "auto"
	SourceDebian   CargoSource = "debian"
	SourceCratesIO CargoSource = "crates-io"
)

// Builder builds the server once per allocator and caches the binaries.
type Builder struct {
	// CacheDir holds the crate copy, cargo's target dir and the finished binaries.
	CacheDir string
	Source   CargoSource
	// Log receives cargo's output line by line; nil discards it.
	Log io.Writer
}

// Binary is a built server.
type Binary struct {
	Allocator string
	Path      string
	SizeBytes int64
	Cached    bool
	Duration  time.Duration
}

// DefaultCacheDir is $XDG_CACHE_HOME/allocscope (or ~/.cache/allocscope), overridable with ALLOCSCOPE_CACHE.
func DefaultCacheDir() string {
	if d := os.Getenv("ALLOCSCOPE_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "allocscope")
	}
	return filepath.Join(os.TempDir(), "allocscope-cache")
}

// NewBuilder returns a builder on the default cache dir; ALLOCSCOPE_CARGO_SOURCE overrides the source.
func NewBuilder() *Builder {
	src := CargoSource(os.Getenv("ALLOCSCOPE_CARGO_SOURCE"))
	if src == "" {
		src = SourceAuto
	}
	return &Builder{CacheDir: DefaultCacheDir(), Source: src}
}

func (b *Builder) resolvedSource() (CargoSource, error) {
	switch b.Source {
	case SourceDebian, SourceCratesIO:
		return b.Source, nil
	case SourceAuto, "":
		if hasDebianCrates() {
			return SourceDebian, nil
		}
		return SourceCratesIO, nil
	}
	return "", fmt.Errorf("unknown cargo source %q: use auto, debian or crates-io", b.Source)
}

func hasDebianCrates() bool {
	for _, prefix := range []string{"hyper-0.14", "tokio-1.", "bumpalo-3."} {
		m, _ := filepath.Glob(filepath.Join(DebianRegistry, prefix+"*"))
		if len(m) == 0 {
			return false
		}
	}
	return true
}

// CachedPath returns the binary's path if this allocator's build is current, or "".
func (b *Builder) CachedPath(alloc Allocator) string {
	key, _, err := b.key(alloc)
	if err != nil {
		return ""
	}
	p := b.binaryPath(alloc, key)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func (b *Builder) binaryPath(alloc Allocator, key string) string {
	return filepath.Join(b.CacheDir, "bin", fmt.Sprintf("allocscope-server-%s-%s", alloc.Name, key[:16]))
}

// key fingerprints everything a build depends on: the crate's files, the allocator and
// its library, the toolchain and the dependency source.
func (b *Builder) key(alloc Allocator) (string, CargoSource, error) {
	src, err := b.resolvedSource()
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "allocator=%s\nsource=%s\n", alloc.Name, src)
	var files []string
	fs.WalkDir(crate, "server", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	for _, f := range files {
		data, _ := crate.ReadFile(f)
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	for _, tool := range [][]string{{"rustc", "-vV"}, {"cargo", "-V"}} {
		out, err := exec.Command(tool[0], tool[1:]...).Output()
		if err != nil {
			return "", "", fmt.Errorf("%s not found: install Rust (apt-get install cargo rustc, or rustup)", tool[0])
		}
		h.Write(out)
	}
	if alloc.Library != "" {
		if p := FindLibrary(alloc.Library); p != "" {
			if st, err := os.Stat(p); err == nil {
				fmt.Fprintf(h, "%s %d %d\n", p, st.Size(), st.ModTime().UnixNano())
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), src, nil
}

// Build returns a current binary for the allocator, building it only when its inputs changed.
func (b *Builder) Build(ctx context.Context, alloc Allocator) (Binary, error) {
	if alloc.PreloadOnly {
		return Binary{}, fmt.Errorf("%s has no build of its own: it runs in the system build with LD_PRELOAD", alloc.Name)
	}
	start := time.Now()
	if why := alloc.Missing(); why != "" {
		return Binary{}, fmt.Errorf("cannot build %s: %s", alloc.Name, why)
	}
	key, src, err := b.key(alloc)
	if err != nil {
		return Binary{}, err
	}
	out := b.binaryPath(alloc, key)
	if st, err := os.Stat(out); err == nil {
		return Binary{Allocator: alloc.Name, Path: out, SizeBytes: st.Size(), Cached: true, Duration: time.Since(start)}, nil
	}
	crateDir := filepath.Join(b.CacheDir, "crate-"+string(src))
	if err := writeCrate(crateDir); err != nil {
		return Binary{}, err
	}
	targetDir := filepath.Join(b.CacheDir, "target-"+string(src))
	args := []string{"build", "--release", "--features", alloc.Name, "--target-dir", targetDir, "--manifest-path", filepath.Join(crateDir, "Cargo.toml")}
	if src == SourceDebian {
		args = append(args, "--offline",
			"--config", `source.crates-io.replace-with="debian-packages"`,
			"--config", fmt.Sprintf(`source.debian-packages.directory=%q`, DebianRegistry))
	}
	cmd := exec.CommandContext(ctx, "cargo", args...)
	cmd.Dir = crateDir
	logw := b.Log
	if logw == nil {
		logw = io.Discard
	}
	tail := &lineTail{max: 15}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			tail.add(sc.Text())
			fmt.Fprintln(logw, sc.Text())
		}
	}()
	err = cmd.Run()
	pw.Close()
	<-done
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return Binary{}, ctx.Err()
		}
		return Binary{}, fmt.Errorf("cargo build of %s failed (%v): %s; last output:\n%s", alloc.Name, err, cargoHint(tail.lines, src), strings.Join(tail.lines, "\n"))
	}
	built := filepath.Join(targetDir, "release", "allocscope-server")
	if err := copyFileAtomic(built, out); err != nil {
		return Binary{}, err
	}
	st, err := os.Stat(out)
	if err != nil {
		return Binary{}, err
	}
	return Binary{Allocator: alloc.Name, Path: out, SizeBytes: st.Size(), Duration: time.Since(start)}, nil
}

// cargoHint reads cargo's last lines for a missing prerequisite and says what to run.
func cargoHint(lines []string, src CargoSource) string {
	out := strings.Join(lines, "\n")
	switch {
	case strings.Contains(out, "no default toolchain") || strings.Contains(out, "rustup could not choose"):
		return "rustup has no default toolchain: run 'rustup default stable'"
	case src == SourceCratesIO && (strings.Contains(out, "Could not resolve host") || strings.Contains(out, "failed to download") ||
		strings.Contains(out, "failed to get") || strings.Contains(out, "network failure")):
		return "cargo cannot reach crates.io and Debian's crate sources are not installed: run scripts/setup.sh " +
			"(or: sudo apt-get install librust-hyper-dev librust-tokio-dev librust-tokio-macros-dev librust-bumpalo-dev), or let cargo reach crates.io"
	case src == SourceDebian && (strings.Contains(out, "no matching package") || strings.Contains(out, "failed to select a version")):
		return "Debian's crate sources lack a crate the server needs: run scripts/setup.sh, or ALLOCSCOPE_CARGO_SOURCE=crates-io where cargo can reach crates.io"
	}
	return "see cargo's output below, or build with 'allocscope servers build --verbose'"
}

func writeCrate(dir string) error {
	return fs.WalkDir(crate, "server", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("server", p)
		target := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := crate.ReadFile(p)
		if err != nil {
			return err
		}
		// Unchanged files keep their mtime, so cargo does not rebuild them.
		if old, err := os.ReadFile(target); err == nil && string(old) == string(data) {
			return nil
		}
		return writeFileAtomic(target, data, 0o644)
	})
}

// writeFileAtomic writes a file that readers never see half of, in a directory made if need be.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, perm)
}

func copyFileAtomic(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeFileAtomic(dst, data, 0o755)
}

type lineTail struct {
	max   int
	lines []string
}

func (t *lineTail) add(s string) {
	t.lines = append(t.lines, s)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}
