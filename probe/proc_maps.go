package probe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Mapping is one region of a process's address space, read from /proc/PID/maps.
type Mapping struct {
	StartAddr, EndAddr uint64
	// Perms are the four letters of the maps line: rwxp, r--p, ---p, rw-s, …
	Perms string
	// Inode is the mapped file's inode, 0 for an anonymous region.
	Inode uint64
	// Path is the mapped file, a pseudo-path such as [heap] or [stack], or "".
	Path string
}

// SizeBytes is the region's length.
func (m Mapping) SizeBytes() uint64 { return m.EndAddr - m.StartAddr }

// Anonymous says the region is backed by no file and is none of the kernel's named ones.
func (m Mapping) Anonymous() bool { return m.Inode == 0 && m.Path == "" }

// Maps reads pid's memory regions from /proc/PID/maps.
func (fs FS) Maps(pid int) ([]Mapping, error) {
	b, err := readWhole(fs.path(pid, "maps"))
	if err != nil {
		return nil, err
	}
	return parseMaps(b)
}

// readWhole reads a /proc file of any length; a process that is gone is ErrExited.
func readWhole(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return nil, ErrExited
	}
	return b, err
}

// parseMaps reads lines of "start-end perms offset dev inode   path"; the path may hold
// spaces, and a deleted file ends in " (deleted)", kept as the kernel wrote it.
func parseMaps(b []byte) ([]Mapping, error) {
	var out []Mapping
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, err := parseMapping(string(line))
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
	return out, nil
}

func parseMapping(line string) (Mapping, error) {
	var m Mapping
	rest := line
	field := func() string {
		rest = strings.TrimLeft(rest, " ")
		f, after, _ := strings.Cut(rest, " ")
		rest = after
		return f
	}
	addrs, perms, _, _, inode := field(), field(), field(), field(), field()
	lo, hi, ok := strings.Cut(addrs, "-")
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	ino, err3 := strconv.ParseUint(inode, 10, 64)
	if !ok || err1 != nil || err2 != nil || err3 != nil || len(perms) != 4 || end < start {
		return m, fmt.Errorf("maps line %q: want start-end perms offset dev inode [path]", line)
	}
	m = Mapping{StartAddr: start, EndAddr: end, Perms: perms, Inode: ino, Path: strings.TrimLeft(rest, " ")}
	return m, nil
}

// Libraries are the distinct files mapped in, in the order they first appear.
func Libraries(maps []Mapping) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range maps {
		if m.Inode != 0 && m.Path != "" && !seen[m.Path] {
			seen[m.Path] = true
			out = append(out, m.Path)
		}
	}
	return out
}

// GlibcHeapBytes is glibc's HEAP_MAX_SIZE on 64-bit Linux: 2 × DEFAULT_MMAP_THRESHOLD_MAX
// (2 × 4 × 1 MiB × sizeof(long)). Every heap of a non-main arena is a region this large,
// aligned to its own size.
const GlibcHeapBytes = 64 << 20

// GlibcHeaps counts the heaps of glibc's non-main arenas in a process's mappings, so
// 1 + GlibcHeaps is its arena count (the main arena lives in [heap], from brk).
//
// glibc's new_heap maps 2 × HEAP_MAX_SIZE with PROT_NONE, keeps the HEAP_MAX_SIZE-aligned
// half, and makes the part in use read-write: each heap shows as an anonymous rw-p region
// that starts on a 64 MiB boundary, followed by the ---p rest of its reservation up to the
// next boundary (none once the heap has grown to its whole size). A heap counts when an
// anonymous rw-p region starts on a boundary and either spans whole heaps (heaps that
// filled up and sit side by side merge into one region) or runs into a ---p region that
// reaches the next boundary.
//
// Its limits: an arena that outgrew its first heap has more than one, so the count is an
// upper bound on arenas under heavy use of one arena; a heap whose rw-p start the kernel
// merged with an anonymous neighbour of the same permissions is missed; and an unrelated
// anonymous region of the same shape (an aligned mapping whose length is a multiple of
// 64 MiB) is counted. It means nothing in a process whose malloc is not glibc's.
func GlibcHeaps(maps []Mapping) int { return len(glibcHeapStarts(maps)) }

// glibcHeapStarts are the start addresses of the heaps GlibcHeaps counts.
func glibcHeapStarts(maps []Mapping) []uint64 {
	var out []uint64
	for i, m := range maps {
		if !m.Anonymous() || m.Perms != "rw-p" || m.StartAddr%GlibcHeapBytes != 0 {
			continue
		}
		for a := m.StartAddr; a+GlibcHeapBytes <= m.EndAddr; a += GlibcHeapBytes {
			out = append(out, a)
		}
		if m.SizeBytes()%GlibcHeapBytes == 0 {
			continue
		}
		next := (m.EndAddr/GlibcHeapBytes + 1) * GlibcHeapBytes
		if i+1 < len(maps) {
			r := maps[i+1]
			if r.Anonymous() && r.Perms == "---p" && r.StartAddr == m.EndAddr && r.EndAddr >= next {
				out = append(out, (m.EndAddr/GlibcHeapBytes)*GlibcHeapBytes)
			}
		}
	}
	return out
}

// Arenas is how many arenas glibc's malloc runs in a process.
type Arenas struct {
	// Count is the main arena and one per non-main arena.
	Count int
	// Heaps is how many heaps of non-main arenas the mappings show.
	Heaps int
	// Exact says each heap's header was read (/proc/PID/mem) and heaps of one arena were
	// counted once; otherwise Count is 1 + Heaps, an upper bound.
	Exact bool
}

// GlibcArenas counts glibc's arenas in pid from its mappings and, where the kernel lets
// allocscope read the process's memory (its own descendants, or as root), from the header
// of each heap: heap_info's first word is the arena the heap belongs to, and a valid one
// lies within one of the heaps found (an arena's state sits in its first heap). That
// tells an arena that outgrew its first heap from two arenas, and drops a region of a
// heap's shape that is no heap.
func (fs FS) GlibcArenas(pid int, maps []Mapping) (Arenas, error) {
	f, err := os.Open(fs.path(pid, "mem"))
	if err != nil {
		return glibcArenas(maps, nil), nil
	}
	defer f.Close()
	return glibcArenas(maps, f), nil
}

func glibcArenas(maps []Mapping, mem io.ReaderAt) Arenas {
	starts := glibcHeapStarts(maps)
	a := Arenas{Count: 1 + len(starts), Heaps: len(starts)}
	if mem == nil {
		return a
	}
	inHeap := func(p uint64) bool {
		for _, s := range starts {
			if p >= s && p < s+GlibcHeapBytes {
				return true
			}
		}
		return false
	}
	owners := map[uint64]bool{}
	var word [8]byte
	for _, s := range starts {
		if _, err := mem.ReadAt(word[:], int64(s)); err != nil {
			return a
		}
		if p := binary.NativeEndian.Uint64(word[:]); inHeap(p) {
			owners[p] = true
		}
	}
	return Arenas{Count: 1 + len(owners), Heaps: len(starts), Exact: true}
}
