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
	return m
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

func virtualization() string {
	if out, err := exec.Command("systemd-detect-virt").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	if _, err := os.Stat("/.dockerenv"); err == nil {
		return "container (docker)"
	}
	if strings.Contains(keyFrom("/proc/cpuinfo", "flags", ":"), " hypervisor") {
		return "vm (hypervisor flag set)"
	}
	return "none detected"
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
