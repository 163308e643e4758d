package loadgen

import (
	"strings"
	"testing"
	"time"

	"github.com/eventual-go/eventual/internal/cpustat"
)

func TestSummarySaysHowBusyTheMachineWas(t *testing.T) {
	s := Summary{Rate: 10, Duration: time.Second, Sent: 10, Placed: 10, Confirmed: 10}
	if got := s.String(); strings.Contains(got, "machine CPU") {
		t.Errorf("a summary without a machine reading mentions one:\n%s", got)
	}
	s.Machine = &cpustat.Use{BusyPercent: 97.4, StealPercent: 12.6}
	if got := s.String(); !strings.Contains(got, "machine CPU while placing: 97 % busy, 13 % stolen by the hypervisor") {
		t.Errorf("summary:\n%s", got)
	}
}
