package cpustat

import (
	"math"
	"os"
	"path/filepath"
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

// Take reads the aggregate line of the file it is pointed at, and gives
// a missing sample without one; on Linux it reads this machine's.
func TestTakeReadsProcStat(t *testing.T) {
	defer func(p string) { procStat = p }(procStat)
	dir := t.TempDir()
	procStat = filepath.Join(dir, "stat")
	if err := os.WriteFile(procStat, []byte("cpu  160 0 70 880 60 5 5 20 7 0\ncpu0 80 0 35 440 30 2 3 10 3 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := Take(); s != (Sample{busy: 240, idle: 940, steal: 20, ok: true}) {
		t.Errorf("Take() = %+v from a stat file", s)
	}
	procStat = filepath.Join(dir, "missing")
	if s := Take(); s.ok {
		t.Errorf("Take() = %+v with no stat file, want a missing sample", s)
	}

	if runtime.GOOS != "linux" {
		return // no /proc/stat to check against: the cases above are the test
	}
	procStat = "/proc/stat"
	s := Take()
	if !s.ok {
		t.Fatal("Take could not read /proc/stat on Linux")
	}
	if s.busy+s.idle == 0 {
		t.Errorf("sample %+v counts no time", s)
	}
}
