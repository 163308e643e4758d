package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/eventual-go/eventual/examples/shop/internal/loadgen"
)

// The load generator (shop load), against the real shop: every order it
// sends is placed, confirmed on the status stream and timed.
func TestLoadGeneratorTimesEveryOrder(t *testing.T) {
	s := startShop(t)
	var progress strings.Builder
	sum, err := loadgen.Run(context.Background(), loadgen.Options{BaseURL: s.base, Rate: 40, Duration: 2 * time.Second,
		Drain: 30 * time.Second, Customers: 5, Products: 5, MaxInFlight: 64, Idempotency: true, Progress: &progress})
	if err != nil {
		t.Fatalf("load: %v\n%s", err, progress.String())
	}
	if sum.Sent != 80 || sum.Placed != 80 || sum.Confirmed != 80 || sum.Rejected != 0 || sum.Unfinished != 0 || len(sum.Errors) != 0 {
		t.Errorf("summary:\n%s", sum.String())
	}
	if sum.P50 <= 0 || sum.P50 > sum.P99 || sum.P99 > sum.Max {
		t.Errorf("latencies p50 %v, p99 %v, max %v", sum.P50, sum.P99, sum.Max)
	}
}
