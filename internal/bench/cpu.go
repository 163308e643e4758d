package bench

import "github.com/eventual-go/eventual/internal/cpustat"

// measureCPU starts measuring the machine's CPU use (internal/cpustat);
// the function it returns records the shares since then on res.
func measureCPU() func(res *Result) {
	before := cpustat.Take()
	return func(res *Result) {
		if u, ok := cpustat.Since(before); ok {
			res.CPUBusyPercent, res.CPUStealPercent = u.BusyPercent, u.StealPercent
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
	return cpustat.Use{BusyPercent: res.CPUBusyPercent, StealPercent: res.CPUStealPercent}.String()
}
