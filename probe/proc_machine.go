package probe

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Machine is what procfs says about the machine, for a report's System section.
type Machine struct {
	// MemTotalBytes is MemTotal from /proc/meminfo.
	MemTotalBytes uint64
	// CPUModel is the first "model name" of /proc/cpuinfo.
	CPUModel string
	// Hypervisor: /proc/cpuinfo's flags include "hypervisor" (the CPU runs under a VM).
	Hypervisor bool
	// OvercommitMemory is /proc/sys/vm/overcommit_memory: "0", "1" or "2".
	OvercommitMemory string
	// EphemeralPorts is the size of /proc/sys/net/ipv4/ip_local_port_range (0: unknown).
	EphemeralPorts int
}

// Machine reads the machine's facts; what a file lacks stays zero.
func (fs FS) Machine() Machine {
	var m Machine
	if v, ok := fs.field("meminfo", "MemTotal:"); ok {
		if kib, err := strconv.ParseUint(strings.Fields(v + " 0")[0], 10, 64); err == nil {
			m.MemTotalBytes = kib << 10
		}
	}
	if v, ok := fs.field("cpuinfo", "model name"); ok {
		m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
	}
	if v, ok := fs.field("cpuinfo", "flags"); ok {
		m.Hypervisor = strings.Contains(" "+v+" ", " hypervisor ")
	}
	m.OvercommitMemory = fs.trimmed("sys/vm/overcommit_memory")
	if f := strings.Fields(fs.trimmed("sys/net/ipv4/ip_local_port_range")); len(f) == 2 {
		lo, _ := strconv.Atoi(f[0])
		hi, _ := strconv.Atoi(f[1])
		if hi > lo {
			m.EphemeralPorts = hi - lo + 1
		}
	}
	return m
}

// field is the rest of the first line of a procfs file that starts with key.
func (fs FS) field(file, key string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(fs.root, file))
	if err != nil {
		return "", false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, key) {
			return strings.TrimPrefix(line, key), true
		}
	}
	return "", false
}

func (fs FS) trimmed(file string) string {
	b, err := os.ReadFile(filepath.Join(fs.root, file))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
