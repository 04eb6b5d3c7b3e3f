// Package cgroup puts allocscope's targets in memory cgroups of their own, below the one
// allocscope runs in, and reads what the kernel accounts to them: usage, the exact peak,
// anonymous, file, kernel and socket memory, and limit and OOM events. It speaks both
// cgroup v1 (the memory controller's own hierarchy) and v2 (the unified one). The
// filesystem root is passed in, so the readers run on fixture trees in tests.
package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Version is the cgroup hierarchy's version: 1 or 2.
type Version int

// Versions.
const (
	V1 Version = 1
	V2 Version = 2
)

// Prefix starts the name of every cgroup allocscope makes, so its leftovers can be told
// apart from anyone else's: "allocscope-PID", one per allocscope process.
const Prefix = "allocscope-"

// ErrUnavailable wraps every reason there is no memory cgroup allocscope can write.
var ErrUnavailable = errors.New("no writable memory cgroup")

// Hierarchy is the memory controller's hierarchy as this process sees it, and the cgroup
// this process is in (Own), below which allocscope makes its own.
type Hierarchy struct {
	Version Version
	// Own is the directory of the cgroup this process was in when it was opened.
	Own string
	// root is prefixed to /proc paths (fixture trees in tests).
	root string
}

// Open finds the memory controller and the cgroup this process is in, reading
// root/proc/self/cgroup and root/proc/self/mountinfo (root is "/" on a real system).
func Open(root string) (*Hierarchy, error) {
	cg, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	mi, err := os.ReadFile(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	v1Path, v2Path, hasV2 := ownPaths(string(cg))
	v1Mount, v1Root, v2Mount, v2Root := memoryMounts(string(mi))
	// The v1 memory controller wins when both are mounted: the controller can be bound to
	// one hierarchy only, and where v1 has it, v2's tree has no memory files.
	if v1Mount != "" && v1Path != "" {
		return &Hierarchy{Version: V1, Own: join(root, v1Mount, v1Root, v1Path), root: root}, nil
	}
	if v2Mount != "" && hasV2 {
		own := join(root, v2Mount, v2Root, v2Path)
		ctrl, err := os.ReadFile(filepath.Join(own, "cgroup.controllers"))
		if err != nil || !hasWord(string(ctrl), "memory") {
			return nil, fmt.Errorf("%w: cgroup v2 is mounted at %s but the memory controller is not delegated to %s (run allocscope as root, or in a delegated scope: systemd-run --user --scope -p Delegate=yes allocscope …)", ErrUnavailable, v2Mount, own)
		}
		return &Hierarchy{Version: V2, Own: own, root: root}, nil
	}
	return nil, fmt.Errorf("%w: this system mounts no memory cgroup controller (neither cgroup v1's memory hierarchy nor cgroup v2 with the memory controller)", ErrUnavailable)
}

// ownPaths reads /proc/self/cgroup: the path in v1's memory hierarchy, and in v2's.
func ownPaths(s string) (v1, v2 string, hasV2 bool) {
	for _, line := range strings.Split(s, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2, hasV2 = parts[2], true
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				v1 = parts[2]
			}
		}
	}
	return v1, v2, hasV2
}

// memoryMounts reads /proc/self/mountinfo: where v1's memory hierarchy and v2's unified
// hierarchy are mounted, and which of their directories each mount shows as its root.
func memoryMounts(s string) (v1Mount, v1Root, v2Mount, v2Root string) {
	for _, line := range strings.Split(s, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 1 {
			continue
		}
		switch {
		case g[0] == "cgroup" && len(g) >= 3 && hasOption(g[2], "memory") && v1Mount == "":
			v1Mount, v1Root = unescape(f[4]), unescape(f[3])
		case g[0] == "cgroup2" && v2Mount == "":
			v2Mount, v2Root = unescape(f[4]), unescape(f[3])
		}
	}
	return v1Mount, v1Root, v2Mount, v2Root
}

// join is the directory of cgroup path p, in a hierarchy mounted at mount whose mount
// shows directory mountRoot (a container sees its own cgroup as "/").
func join(root, mount, mountRoot, p string) string {
	if mountRoot != "/" && strings.HasPrefix(p, mountRoot) {
		p = strings.TrimPrefix(p, mountRoot)
	}
	return filepath.Join(root, mount, p)
}

func hasOption(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

func hasWord(s, want string) bool {
	for _, w := range strings.Fields(s) {
		if w == want {
			return true
		}
	}
	return false
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
