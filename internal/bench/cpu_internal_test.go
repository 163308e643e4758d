package bench

import (
	"math"
	"testing"
)

func TestCPUSharesFromProcStat(t *testing.T) {
	a := parseCPULine("cpu  100 0 50 800 50 0 0 0 0 0")
	b := parseCPULine("cpu  160 0 70 880 60 5 5 20 7 0")
	busy, steal, ok := cpuUse(a, b)
	// Between the two: busy 60+20+5+5 = 90, idle 80+10 = 90, steal 20.
	if !ok || math.Abs(busy-0.45) > 1e-9 || math.Abs(steal-0.10) > 1e-9 {
		t.Fatalf("busy %v, steal %v, ok %v; want 0.45, 0.10, true", busy, steal, ok)
	}
	for _, line := range []string{"", "intr 1 2 3", "cpu 1 2 3", "cpu  x 0 0 0 0 0 0 0"} {
		if s := parseCPULine(line); s.ok {
			t.Errorf("parseCPULine(%q) is ok", line)
		}
	}
	if _, _, ok := cpuUse(a, a); ok {
		t.Error("no time passed, yet shares were computed")
	}
	if _, _, ok := cpuUse(b, a); ok {
		t.Error("a counter went backwards, yet shares were computed")
	}
	if _, _, ok := cpuUse(cpuSample{}, b); ok {
		t.Error("a missing sample gave shares")
	}
	res := Result{}
	if got := cpuText(res); got != "-" {
		t.Errorf("cpuText of an unmeasured result = %q", got)
	}
	res.CPUBusyPercent, res.CPUStealPercent, res.CPUMeasured = 45.4, 9.6, true
	if got := cpuText(res); got != "45/10" {
		t.Errorf("cpuText = %q, want 45/10", got)
	}
}
