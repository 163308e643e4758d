package bench

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// The same command on the same machine can run a third slower from one
// hour to the next: on a virtual machine the host takes CPU time from the
// guest (steal) and an idle vCPU is slow to wake. So every append case and
// raw baseline records how busy the machine's CPUs were while it ran, and
// how much of their time the hypervisor stole, read from /proc/stat
// (Linux; elsewhere the fields stay empty). A result with a high steal
// share was measured on a slower machine than one without.

// cpuSample is the time all CPUs of the machine have spent so far, in
// clock ticks, by kind.
type cpuSample struct {
	busy, idle, steal uint64
	ok                bool
}

// sampleCPU reads the machine's CPU times, or returns a sample that is not
// ok where /proc/stat cannot be read.
func sampleCPU() cpuSample {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuSample{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return cpuSample{}
	}
	return parseCPULine(sc.Text())
}

// parseCPULine parses the aggregate line of /proc/stat:
// "cpu user nice system idle iowait irq softirq steal guest guest_nice".
// Guest time is already counted in user and nice.
func parseCPULine(line string) cpuSample {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuSample{}
	}
	var v [8]uint64
	for i := range v {
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return cpuSample{}
		}
		v[i] = n
	}
	user, nice, system, idle, iowait, irq, softirq, steal := v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
	return cpuSample{busy: user + nice + system + irq + softirq, idle: idle + iowait, steal: steal, ok: true}
}

// cpuUse returns the shares of the machine's CPU time between two samples
// that were busy and that the hypervisor stole (each from 0 to 1), and
// false when either sample is missing or no time passed.
func cpuUse(a, b cpuSample) (busy, steal float64, ok bool) {
	if !a.ok || !b.ok || b.busy < a.busy || b.idle < a.idle || b.steal < a.steal {
		return 0, 0, false
	}
	db, di, ds := b.busy-a.busy, b.idle-a.idle, b.steal-a.steal
	total := db + di + ds
	if total == 0 {
		return 0, 0, false
	}
	return float64(db) / float64(total), float64(ds) / float64(total), true
}

// measureCPU starts measuring the machine's CPU use; the function it
// returns records the shares since then on res.
func measureCPU() func(res *Result) {
	before := sampleCPU()
	return func(res *Result) {
		if busy, steal, ok := cpuUse(before, sampleCPU()); ok {
			res.CPUBusyPercent, res.CPUStealPercent = 100*busy, 100*steal
			res.CPUMeasured = true
		}
	}
}

// cpuText formats a result's CPU shares for the tables: "busy/steal" in
// percent, or "-" when they were not measured.
func cpuText(res Result) string {
	if !res.CPUMeasured {
		return "-"
	}
	return strconv.FormatFloat(res.CPUBusyPercent, 'f', 0, 64) + "/" + strconv.FormatFloat(res.CPUStealPercent, 'f', 0, 64)
}
