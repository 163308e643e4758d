package iterate

import (
	"math"
	"testing"
)

func TestSpan(t *testing.T) {
	for _, c := range []struct {
		lo, hi uint64
		n      int
		want   int
	}{
		{1, 1000, 1000, 1000},               // a full page
		{1, 5000, 1000, 1000},               // more than a page
		{10, 12, 1000, 3},                   // a live page of three positions
		{7, 7, 1000, 1},                     // one
		{8, 7, 1000, 0},                     // an empty range
		{1, 10, 0, 0},                       // no page size
		{0, math.MaxUint64, 1000, OpenSpan}, // a range whose size overflows
		{1, math.MaxUint64, 1000, OpenSpan},
		{1, math.MaxInt64, 1000, OpenSpan}, // a follower's page: open at the top
		{5, math.MaxInt64, 10, 10},
		{math.MaxInt64, math.MaxInt64, 1000, 1},
	} {
		if got := Span(c.lo, c.hi, c.n); got != c.want {
			t.Errorf("Span(%d, %d, %d) = %d, want %d", c.lo, c.hi, c.n, got, c.want)
		}
	}
}
