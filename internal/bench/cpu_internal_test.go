package bench

import (
	"testing"

	"github.com/eventual-go/eventual/internal/cpustat"
)

func TestCPUText(t *testing.T) {
	res := Result{}
	if got := cpuText(res); got != "-" {
		t.Errorf("cpuText of an unmeasured result = %q, want -", got)
	}
	res.CPU = &cpustat.Use{BusyPercent: 45.4, StealPercent: 9.6}
	if got := cpuText(res); got != "45/10" {
		t.Errorf("cpuText = %q, want 45/10", got)
	}
}
