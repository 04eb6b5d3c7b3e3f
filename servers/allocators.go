// Package servers builds the target HTTP server once per allocator and runs target
// processes (the built-in server or any command) as managed children.
package servers

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Allocator is one memory allocator the built-in server can be built with or preloaded.
type Allocator struct {
	Name string
	// Library is the shared object's file name, linked by the build and used for LD_PRELOAD.
	// Empty for the system allocator, which is glibc's malloc.
	Library string
	// LinkName is the file the linker needs (the -dev package's symlink).
	LinkName string
	// Package is the Debian package that provides the library and its link name.
	Package string
	// PreloadOnly: there is no build of its own; the system build runs with the library
	// LD_PRELOADed (scudo, whose Debian package ships no link name).
	PreloadOnly bool
	// Glob finds the library where ldconfig does not (LLVM's runtime directory).
	Glob string
}

// Allocators lists every allocator allocscope knows, in their display order.
var Allocators = []Allocator{
	{Name: "system", Package: "libc6-dev"},
	{Name: "jemalloc", Library: "libjemalloc.so.2", LinkName: "libjemalloc.so", Package: "libjemalloc-dev"},
	{Name: "mimalloc", Library: "libmimalloc.so.2", LinkName: "libmimalloc.so", Package: "libmimalloc-dev"},
	{Name: "tcmalloc", Library: "libtcmalloc_minimal.so.4", LinkName: "libtcmalloc_minimal.so", Package: "libgoogle-perftools-dev"},
	{Name: "scudo", Library: "libclang_rt.scudo_standalone-x86_64.so", Package: "libclang-rt-14-dev", PreloadOnly: true,
		Glob: "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.scudo_standalone-x86_64.so"},
}

// BuildName is the build the allocator runs in: its own, or the system build it is
// preloaded into.
func (a Allocator) BuildName() string {
	if a.PreloadOnly {
		return "system"
	}
	return a.Name
}

// DefaultAllocators is the seed benchmark's set.
var DefaultAllocators = []string{"system", "jemalloc", "mimalloc"}

// Names returns every known allocator name.
func Names() []string {
	names := make([]string, len(Allocators))
	for i, a := range Allocators {
		names[i] = a.Name
	}
	return names
}

// LookupAllocator finds an allocator by name.
func LookupAllocator(name string) (Allocator, error) {
	for _, a := range Allocators {
		if a.Name == name {
			return a, nil
		}
	}
	return Allocator{}, fmt.Errorf("unknown allocator %q: choose from %s", name, strings.Join(Names(), ", "))
}

// ParseAllocators parses a comma-separated list such as "system,jemalloc". An allocator
// may be listed more than once: "system,system" is the A/A test of a comparison.
func ParseAllocators(list string) ([]Allocator, error) {
	var out []Allocator
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		a, err := LookupAllocator(alias(name))
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no allocator in %q: choose from %s", list, strings.Join(Names(), ", "))
	}
	return out, nil
}

// libraryDirs are searched after ldconfig's cache, in order.
var libraryDirs = []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"}

// FindLibrary returns the path of a shared library file name, or "" when absent.
func FindLibrary(file string) string {
	if out, err := exec.Command("ldconfig", "-p").Output(); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(line, file+" ") {
				if i := strings.LastIndex(line, " => "); i >= 0 {
					return line[i+4:]
				}
			}
		}
	}
	for _, dir := range libraryDirs {
		p := filepath.Join(dir, file)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// PreloadPath returns the shared library to LD_PRELOAD for an allocator, or an error naming the package to install.
func (a Allocator) PreloadPath() (string, error) {
	if a.Library == "" {
		return "", nil
	}
	p := a.findLibrary()
	if p == "" {
		return "", fmt.Errorf("%s is not installed (%s not found): install it with: apt-get install %s", a.Name, a.Library, a.Package)
	}
	return p, nil
}

// findLibrary is the library's path, or "" when it is not installed.
func (a Allocator) findLibrary() string {
	if p := FindLibrary(a.Library); p != "" || a.Glob == "" {
		return p
	}
	m, _ := filepath.Glob(a.Glob)
	if len(m) == 0 {
		return ""
	}
	sort.Strings(m)
	return m[len(m)-1] // the newest LLVM
}

// LibraryPath is the allocator library's path, or "" when absent or the allocator is glibc's.
func (a Allocator) LibraryPath() string {
	if a.Library == "" {
		return ""
	}
	return a.findLibrary()
}

// Missing says why the allocator cannot be linked into a build (or, preload-only,
// cannot be preloaded), or "" when it can.
func (a Allocator) Missing() string {
	if a.PreloadOnly {
		if a.findLibrary() == "" {
			return fmt.Sprintf("%s not found: install it with: apt-get install %s", a.Library, a.Package)
		}
		return ""
	}
	if a.LinkName == "" {
		return ""
	}
	for _, dir := range libraryDirs {
		if _, err := os.Stat(filepath.Join(dir, a.LinkName)); err == nil {
			return ""
		}
	}
	return fmt.Sprintf("%s not found: install it with: apt-get install %s", a.LinkName, a.Package)
}

// PackageVersion is the installed Debian package version of the allocator, or "".
func (a Allocator) PackageVersion() string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", a.Package).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
