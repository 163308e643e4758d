package dispatch

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestOrderPerKeyAndConcurrency(t *testing.T) {
	d := New(4, 16)
	var mu sync.Mutex
	seen := map[string][]int{}
	var running, most atomic.Int64
	perKey := map[string]*atomic.Int64{}
	for k := range 8 {
		perKey[fmt.Sprint(k)] = &atomic.Int64{}
	}
	for i := range 400 {
		key := fmt.Sprint(i % 8)
		d.Add(key, func() {
			if n := perKey[key].Add(1); n > 1 {
				t.Errorf("key %s: %d jobs at once", key, n)
			}
			r := running.Add(1)
			for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
			}
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
			mu.Lock()
			seen[key] = append(seen[key], i)
			mu.Unlock()
			running.Add(-1)
			perKey[key].Add(-1)
		})
	}
	d.Wait()
	for key, order := range seen {
		for j := 1; j < len(order); j++ {
			if order[j] < order[j-1] {
				t.Fatalf("key %s ran job %d before %d", key, order[j-1], order[j])
			}
		}
		if len(order) != 50 {
			t.Fatalf("key %s ran %d jobs, want 50", key, len(order))
		}
	}
	if m := most.Load(); m > 4 || m < 2 {
		t.Fatalf("at most %d jobs ran at once, want between 2 and 4", m)
	}
}

// A key with a long queue does not starve a key that comes later.
func TestKeysTakeTurns(t *testing.T) {
	d := New(1, 1000)
	var order []string
	var mu sync.Mutex
	job := func(k string) func() {
		return func() {
			mu.Lock()
			order = append(order, k)
			mu.Unlock()
			time.Sleep(100 * time.Microsecond)
		}
	}
	for range 20 {
		d.Add("busy", job("busy"))
	}
	d.Add("other", job("other"))
	d.Wait()
	for i, k := range order {
		if k == "other" {
			if i > 3 {
				t.Fatalf("the other key ran at %d of %d: starved", i, len(order))
			}
			return
		}
	}
	t.Fatal("the other key never ran")
}

func TestAddWaitsWhenFull(t *testing.T) {
	d := New(1, 2)
	release := make(chan struct{})
	d.Add("a", func() { <-release })
	d.Add("a", func() {})
	d.Add("a", func() {})
	added := make(chan struct{})
	go func() {
		d.Add("a", func() {})
		close(added)
	}()
	select {
	case <-added:
		t.Fatal("Add did not wait with the queue full")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-added
	d.Wait()
}

// SetN raises the limit at once for jobs already queued.
func TestSetN(t *testing.T) {
	d := New(1, 100)
	release := make(chan struct{})
	var running atomic.Int64
	started := make(chan struct{}, 3)
	for i := range 3 {
		d.Add(fmt.Sprint(i), func() {
			running.Add(1)
			started <- struct{}{}
			<-release
		})
	}
	<-started
	time.Sleep(20 * time.Millisecond)
	if n := running.Load(); n != 1 {
		t.Fatalf("%d jobs running with n=1", n)
	}
	d.SetN(3)
	<-started
	<-started
	close(release)
	d.Wait()
}

func TestMembers(t *testing.T) {
	var s Members[string]
	if _, ok := s.Pick(); ok {
		t.Fatal("picked from no member")
	}
	s.Add("a", 1)
	s.Add("b", 3)
	if s.Capacity() != 4 || s.Len() != 2 {
		t.Fatalf("capacity %d, len %d", s.Capacity(), s.Len())
	}
	var got []string
	for range 4 {
		m, _ := s.Pick()
		got = append(got, m)
	}
	// b has the most room until a and b are equally free, then turns.
	if fmt.Sprint(got) != "[b b a b]" {
		t.Errorf("picks %v", got)
	}
	s.Done("b")
	if m, _ := s.Pick(); m != "b" {
		t.Errorf("after Done(b) picked %s", m)
	}
	if n := s.Remove("b"); n != 1 || s.Capacity() != 1 || fmt.Sprint(s.All()) != "[a]" {
		t.Errorf("after Remove: %d left, capacity %d, %v", n, s.Capacity(), s.All())
	}
}

// A worker done with its key takes the next one, so that a steady stream
// of messages does not start a goroutine for each.
func TestWorkersAreReused(t *testing.T) {
	d := New(4, 100)
	for i := range 200 {
		done := make(chan struct{})
		d.Add(fmt.Sprint(i), func() { close(done) })
		<-done
	}
	for i := range 200 {
		d.Add(fmt.Sprint(i%7), func() { time.Sleep(10 * time.Microsecond) })
	}
	d.Wait()
	d.mu.Lock()
	started := d.started
	d.mu.Unlock()
	if started > 4 {
		t.Fatalf("%d workers started for 400 jobs with n=4", started)
	}
}

// Idle workers exit after the keep time, and at once on Wait; a later Add
// starts new ones.
func TestIdleWorkersExit(t *testing.T) {
	before := runtime.NumGoroutine()
	d := New(8, 100)
	d.keep = 20 * time.Millisecond
	release := make(chan struct{})
	for i := range 8 {
		d.Add(fmt.Sprint(i), func() { <-release })
	}
	close(release)
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })

	d.mu.Lock()
	d.keep = time.Hour
	d.mu.Unlock()
	for i := range 8 {
		d.Add(fmt.Sprint(i), func() { time.Sleep(time.Millisecond) })
	}
	d.Wait()
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })

	ran := make(chan struct{})
	d.Add("again", func() { close(ran) })
	<-ran
	d.Wait()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("still %d goroutines", runtime.NumGoroutine())
		}
		time.Sleep(time.Millisecond)
	}
}

// Lowering n takes effect as workers finish a job: the slots above it
// are given up, and no more than n run after that.
func TestSetNLower(t *testing.T) {
	d := New(4, 1000)
	var running, most atomic.Int64
	lowered := make(chan struct{})
	var once sync.Once
	for i := range 400 {
		d.Add(fmt.Sprint(i%16), func() {
			r := running.Add(1)
			select {
			case <-lowered:
				for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
				}
			default:
			}
			time.Sleep(50 * time.Microsecond)
			running.Add(-1)
			if i == 40 {
				once.Do(func() {
					d.SetN(1)
					// Jobs running now finish; after that one at a time.
					for running.Load() > 0 {
						time.Sleep(10 * time.Microsecond)
					}
					close(lowered)
				})
			}
		})
	}
	d.Wait()
	if m := most.Load(); m > 1 {
		t.Fatalf("%d jobs at once after SetN(1)", m)
	}
}
