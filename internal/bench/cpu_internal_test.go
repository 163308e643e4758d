package bench

import "testing"

func TestCPUText(t *testing.T) {
	res := Result{}
	if got := cpuText(res); got != "-" {
		t.Errorf("cpuText of an unmeasured result = %q, want -", got)
	}
	res.CPUBusyPercent, res.CPUStealPercent, res.CPUMeasured = 45.4, 9.6, true
	if got := cpuText(res); got != "45/10" {
		t.Errorf("cpuText = %q, want 45/10", got)
	}
}
