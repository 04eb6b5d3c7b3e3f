package experiment

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/allocscope/allocscope/loadgen"
	"github.com/allocscope/allocscope/probe"
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
	var facts probe.Machine
	if fs, err := probe.NewFS(probe.DefaultRoot); err == nil {
		facts = fs.Machine()
	}
	m.CPUModel, m.MemoryBytes = facts.CPUModel, facts.MemTotalBytes
	m.Virtualization = virtualization(facts.Hypervisor)
	m.THP = bracketed(readTrimmed("/sys/kernel/mm/transparent_hugepage/enabled"))
	m.THPDefrag = bracketed(readTrimmed("/sys/kernel/mm/transparent_hugepage/defrag"))
	m.OvercommitMode = overcommitMode(facts.OvercommitMemory)
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
func virtualization(hypervisorFlag bool) string {
	vm, container := detectVirt("--vm"), detectVirt("--container")
	if vm == "" && hypervisorFlag {
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
