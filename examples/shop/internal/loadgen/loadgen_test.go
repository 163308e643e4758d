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

func TestCreatedOrderTakesTheIDWithoutDecodingTheOrder(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"id":"ord-1","status":"placed","lines":[{"product_id":"p"}]}`, "ord-1"},
		{`{"status":"placed","id":"ord-2"}`, "ord-2"}, // elsewhere: decoded
		{`{"id":"a\"b","status":"placed"}`, `a"b`},    // escaped: decoded
		{` {"id":"ord-3"}`, "ord-3"},                  // not at the start: decoded
	} {
		var c createdOrder
		if err := c.UnmarshalJSON([]byte(tc.body)); err != nil || c.id != tc.want {
			t.Errorf("%s: id %q, %v; want %q", tc.body, c.id, err, tc.want)
		}
	}
	var c createdOrder
	if err := c.UnmarshalJSON([]byte(`{"status":`)); err == nil {
		t.Errorf("a broken body decoded to %q", c.id)
	}
}
