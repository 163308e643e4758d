package bench

import "github.com/eventual-go/eventual/internal/cpustat"

// measureCPU starts measuring the machine's CPU use (internal/cpustat);
// the function it returns records it on res.
func measureCPU() func(res *Result) {
	before := cpustat.Take()
	return func(res *Result) {
		if u, ok := cpustat.Since(before); ok {
			res.CPU = &u
		}
	}
}

// cpuText formats a result's CPU use for the tables: "busy/steal" in
// percent, or "-" when it was not measured.
func cpuText(res Result) string {
	if res.CPU == nil {
		return "-"
	}
	return res.CPU.String()
}
