package sqltext

import (
	"fmt"
	"reflect"
	"testing"
)

func TestPadded(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 1, 2: 2, 3: 4, 4: 4, 5: 8, 100: 128, 1024: 1024} {
		if got := Padded(n); got != want {
			t.Errorf("Padded(%d) = %d, want %d", n, got, want)
		}
	}
}

// Chunks cover every row, in a handful of sizes.
func TestChunk(t *testing.T) {
	sizes := map[int]bool{}
	for n := 1; n <= 1000; n++ {
		left := n
		for left > 0 {
			c := Chunk(left, 256, 4)
			if c < 1 || c > left || c > 256 {
				t.Fatalf("Chunk(%d, 256, 4) = %d", left, c)
			}
			sizes[c] = true
			left -= c
		}
	}
	if len(sizes) != 10 { // 1, 2, 3, 4, 8, …, 256
		t.Errorf("%d sizes: %v", len(sizes), sizes)
	}
}

func TestCacheBuildsOnce(t *testing.T) {
	var c Cache[int]
	builds := 0
	build := func(k int) string { builds++; return fmt.Sprint(k) }
	for range 3 {
		if got := c.Get(7, build); got != "7" {
			t.Fatalf("Get = %q", got)
		}
	}
	if builds != 1 {
		t.Errorf("built %d times, want once", builds)
	}
}

func TestParams(t *testing.T) {
	for _, c := range []struct {
		first, n int
		want     string
	}{{1, 0, ""}, {1, 1, "$1"}, {2, 3, "$2, $3, $4"}} {
		if got := Params(c.first, c.n); got != c.want {
			t.Errorf("Params(%d, %d) = %q, want %q", c.first, c.n, got, c.want)
		}
	}
}

func TestAppendPadded(t *testing.T) {
	got := AppendPadded([]any{"name"}, []string{"a", "b", "c"}, Padded(3))
	if want := []any{"name", "a", "b", "c", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("AppendPadded = %v, want %v", got, want)
	}
}
