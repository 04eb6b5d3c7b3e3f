package experiment

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/record"
	"github.com/allocscope/allocscope/servers"
	"golang.org/x/sys/unix"
)

// DescribeMachine reads the facts of the seed's System section.
func DescribeMachine() record.Machine {
	m := record.Machine{Arch: runtime.GOARCH, Cores: runtime.NumCPU(), OpenFilesLimit: loadgen.CurrentLimits().OpenFiles}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		m.Kernel = "Linux " + unix.ByteSliceToString(uts.Release[:])
		m.Arch = unix.ByteSliceToString(uts.Machine[:])
	}
	m.OS = keyFrom("/etc/os-release", "PRETTY_NAME=", "")
	m.CPUModel = keyFrom("/proc/cpuinfo", "model name", ":")
	if mem := keyFrom("/proc/meminfo", "MemTotal:", ""); mem != "" {
		var kib uint64
		for _, c := range mem {
			if c >= '0' && c <= '9' {
				kib = kib*10 + uint64(c-'0')
			}
		}
		m.MemoryBytes = kib << 10
	}
	m.Virtualization = virtualization()
	m.THP = bracketed(readTrimmed("/sys/kernel/mm/transparent_hugepage/enabled"))
	m.THPDefrag = bracketed(readTrimmed("/sys/kernel/mm/transparent_hugepage/defrag"))
	m.OvercommitMode = overcommitMode(readTrimmed("/proc/sys/vm/overcommit_memory"))
	return m
}

func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// bracketed picks the chosen word of a sysfs choice list: "always [madvise] never" → madvise.
func bracketed(s string) string {
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return s
}

// overcommitMode names vm.overcommit_memory's value as proc(5) does.
func overcommitMode(v string) string {
	switch v {
	case "0":
		return "0 (heuristic)"
	case "1":
		return "1 (always)"
	case "2":
		return "2 (never: strict accounting)"
	}
	return v
}

func keyFrom(path, prefix, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		v := strings.TrimPrefix(line, prefix)
		if sep != "" {
			if _, after, ok := strings.Cut(v, sep); ok {
				v = after
			}
		}
		return strings.Trim(strings.TrimSpace(v), `"`)
	}
	return ""
}

// virtualization names the hypervisor and the container, as systemd-detect-virt tells
// them apart: both shape the figures (a VM's pages are the host's to back or not).
func virtualization() string {
	vm, container := detectVirt("--vm"), detectVirt("--container")
	if vm == "" && strings.Contains(keyFrom("/proc/cpuinfo", "flags", ":"), " hypervisor") {
		vm = "unknown hypervisor"
	}
	if container == "" {
		if _, err := os.Stat("/.dockerenv"); err == nil {
			container = "docker"
		}
	}
	switch {
	case vm != "" && container != "":
		return vm + " VM, in a " + container + " container"
	case vm != "":
		return vm + " VM"
	case container != "":
		return container + " container"
	}
	return "none detected"
}

func detectVirt(kind string) string {
	out, _ := exec.Command("systemd-detect-virt", kind).Output()
	if v := strings.TrimSpace(string(out)); v != "none" {
		return v
	}
	return ""
}

// toolVersions records the versions that shape the figures.
func toolVersions() map[string]string {
	v := map[string]string{}
	for name, argv := range map[string][]string{"rustc": {"rustc", "--version"}, "cargo": {"cargo", "--version"}} {
		if out, err := exec.Command(argv[0], argv[1:]...).Output(); err == nil {
			v[name] = strings.TrimSpace(string(out))
		}
	}
	for _, a := range servers.Allocators {
		if ver := a.PackageVersion(); ver != "" {
			v[a.Package] = a.Package + " " + ver
		}
	}
	return v
}
