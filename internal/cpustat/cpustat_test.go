package cpustat

import (
	"math"
	"runtime"
	"testing"
)

func TestSharesFromProcStat(t *testing.T) {
	a := parseLine("cpu  100 0 50 800 50 0 0 0 0 0")
	b := parseLine("cpu  160 0 70 880 60 5 5 20 7 0")
	u, ok := Between(a, b)
	// Between the two: busy 60+20+5+5 = 90, idle 80+10 = 90, steal 20.
	if !ok || math.Abs(u.BusyPercent-45) > 1e-9 || math.Abs(u.StealPercent-10) > 1e-9 {
		t.Fatalf("use %+v, ok %v; want busy 45, steal 10", u, ok)
	}
	if got := u.String(); got != "45/10" {
		t.Errorf("String() = %q, want 45/10", got)
	}
	for _, line := range []string{"", "intr 1 2 3", "cpu 1 2 3", "cpu  x 0 0 0 0 0 0 0"} {
		if s := parseLine(line); s.ok {
			t.Errorf("parseLine(%q) is ok", line)
		}
	}
	if _, ok := Between(a, a); ok {
		t.Error("no time passed, yet a use was computed")
	}
	if _, ok := Between(b, a); ok {
		t.Error("a counter went backwards, yet a use was computed")
	}
	if _, ok := Between(Sample{}, b); ok {
		t.Error("a missing sample gave a use")
	}
}

func TestTakeReadsThisMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SKIP: runs with GOOS=linux only: /proc/stat, which Take reads, is Linux's")
	}
	s := Take()
	if !s.ok {
		t.Fatal("Take could not read /proc/stat on Linux")
	}
	if s.busy+s.idle == 0 {
		t.Errorf("sample %+v counts no time", s)
	}
}
