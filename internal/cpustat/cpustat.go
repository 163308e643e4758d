// Package cpustat reads how busy the machine's CPUs were between two
// moments, and how much of their time the hypervisor took for other guests
// (steal), from /proc/stat (Linux). Benchmarks print it next to their
// figures: on a virtual machine the same program can run a third slower
// from one hour to the next, and a run measured with steal, or with its
// cores half idle, is not comparable with one without.
package cpustat

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Sample is the time all CPUs of the machine have spent so far, in clock
// ticks, by kind. The zero Sample is a missing one.
type Sample struct {
	busy, idle, steal uint64
	ok                bool
}

// procStat is the file Take reads (a test points it elsewhere).
var procStat = "/proc/stat"

// Take reads the machine's CPU times; where /proc/stat cannot be read it
// returns a missing Sample.
func Take() Sample {
	f, err := os.Open(procStat)
	if err != nil {
		return Sample{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return Sample{}
	}
	return parseLine(sc.Text())
}

// parseLine parses the aggregate line of /proc/stat:
// "cpu user nice system idle iowait irq softirq steal guest guest_nice".
// Guest time is already counted in user and nice.
func parseLine(line string) Sample {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return Sample{}
	}
	var v [8]uint64
	for i := range v {
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return Sample{}
		}
		v[i] = n
	}
	user, nice, system, idle, iowait, irq, softirq, steal := v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
	return Sample{busy: user + nice + system + irq + softirq, idle: idle + iowait, steal: steal, ok: true}
}

// Use is the share of the machine's CPU time between two samples that was
// busy, and the share the hypervisor stole, in percent of all CPUs.
type Use struct {
	BusyPercent  float64 `json:"busy_percent"`
	StealPercent float64 `json:"steal_percent"`
}

// Between returns the use from a to b, and false when either sample is
// missing, a counter went backwards, or no time passed.
func Between(a, b Sample) (Use, bool) {
	if !a.ok || !b.ok || b.busy < a.busy || b.idle < a.idle || b.steal < a.steal {
		return Use{}, false
	}
	db, di, ds := b.busy-a.busy, b.idle-a.idle, b.steal-a.steal
	total := db + di + ds
	if total == 0 {
		return Use{}, false
	}
	return Use{BusyPercent: 100 * float64(db) / float64(total), StealPercent: 100 * float64(ds) / float64(total)}, true
}

// Since returns the use from a to now (see Between).
func Since(a Sample) (Use, bool) { return Between(a, Take()) }

// String renders u as "busy/steal", whole percents: "45/10".
func (u Use) String() string {
	return strconv.FormatFloat(u.BusyPercent, 'f', 0, 64) + "/" + strconv.FormatFloat(u.StealPercent, 'f', 0, 64)
}
