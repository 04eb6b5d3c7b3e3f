package probe

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/allocscope/allocscope/internal/rawio"
)

// MachineCPU is the first ("cpu") line of /proc/stat: every core's time since boot, in
// clock ticks, summed over the cores.
type MachineCPU struct {
	// Busy is user, nice, system and steal: time some process (or, for steal, another
	// virtual machine on the same host) had a core. guest and guest_nice are already in
	// user and nice.
	Busy uint64
	// IRQ is irq and softirq: time no process is charged for. On loopback it is mostly
	// the packets of the load itself, so it is kept apart from Busy.
	IRQ uint64
	// Idle is idle and iowait.
	Idle uint64
}

// Total is all of the machine's CPU time.
func (c MachineCPU) Total() uint64 { return c.Busy + c.IRQ + c.Idle }

// MachineCPU reads /proc/stat's "cpu" line.
func (fs FS) MachineCPU() (MachineCPU, error) {
	// Read at each beat: with a raw read (rawio), which does not wake Go's sysmon.
	b, err := rawio.ReadFile(filepath.Join(fs.root, "stat"), nil)
	if err != nil {
		return MachineCPU{}, err
	}
	return parseMachineCPU(b)
}

func parseMachineCPU(b []byte) (MachineCPU, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 0 || string(f[0]) != "cpu" {
			continue
		}
		// user nice system idle iowait irq softirq steal guest guest_nice; kernels
		// before 2.6.11 stop after softirq, and steal is then 0.
		if len(f) < 8 {
			return MachineCPU{}, fmt.Errorf("/proc/stat: the cpu line has %d fields, want at least 7", len(f)-1)
		}
		var v [8]uint64
		for i := range v {
			if i+1 < len(f) {
				n, err := strconv.ParseUint(string(f[i+1]), 10, 64)
				if err != nil {
					return MachineCPU{}, fmt.Errorf("/proc/stat: cpu field %d: %w", i+1, err)
				}
				v[i] = n
			}
		}
		user, nice, system, idle, iowait, irq, softirq, steal := v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
		return MachineCPU{Busy: user + nice + system + steal, IRQ: irq + softirq, Idle: idle + iowait}, nil
	}
	return MachineCPU{}, fmt.Errorf("/proc/stat has no cpu line")
}
