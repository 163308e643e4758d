package groupcommit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
)

// one is a request of one append of n events.
func one(n int) []eventual.AppendRequest {
	return []eventual.AppendRequest{{StreamID: "s", Events: make([]eventual.EventData, n)}}
}

// spin keeps the CPU busy for d, like a commit that works rather than
// sleeps (sleeps under a millisecond are not honoured everywhere).
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// TestBatchesFillUp checks that concurrent callers share commits: with 8
// callers and a slow commit, batches hold most of them, rather than
// alternating between the first caller back and the rest.
func TestBatchesFillUp(t *testing.T) {
	var batches, reqs atomic.Int64
	c := New(func(ctx context.Context, b *Batch) {
		all := b.All()
		batches.Add(1)
		reqs.Add(int64(len(all)))
		spin(300 * time.Microsecond)
		for _, r := range all {
			r.Results = make([]eventual.AppendResult, 1)
		}
	}, 1, 1024)
	// Generous, so the test does not depend on how fast this machine
	// schedules the callers back (the race detector slows them down).
	c.gatherMax = 5 * time.Millisecond
	defer c.Close()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if _, err := c.Do(context.Background(), one(1)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	avg := float64(reqs.Load()) / float64(batches.Load())
	t.Logf("%d requests in %d batches: %.1f per batch", reqs.Load(), batches.Load(), avg)
	if avg < 6 {
		t.Fatalf("%.1f requests per batch with 8 callers, want at least 6", avg)
	}
}

// A batch waits for every caller inside Do when the last one committed:
// the callers queued meanwhile and the last batch's own, who come back
// with their next appends. Stopping at the size of the last batch would
// commit the queued callers without those coming back, and the two
// groups could go on taking turns, each paying a commit of its own.
func TestBatchWaitsForQueuedAndReturningCallers(t *testing.T) {
	taken, release := make(chan struct{}), make(chan struct{})
	var sizes []int
	c := New(func(ctx context.Context, b *Batch) {
		all := b.All()
		sizes = append(sizes, len(all)) // one worker: no race
		if len(sizes) == 1 {
			close(taken)
			<-release
		}
		for _, r := range all {
			r.Results = make([]eventual.AppendResult, 1)
		}
	}, 1, 1024)
	c.gatherMax = 5 * time.Second // the test waits for what it needs, not for the clock
	defer c.Close()
	do := func() {
		if _, err := c.Do(context.Background(), one(1)); err != nil {
			t.Error(err)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		do() // alone in the first batch
		do() // and back for the second
	})
	<-taken
	for range 3 {
		wg.Go(do) // queued while the first batch commits
	}
	for c.calls.Load() < 4 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	c.Close()
	if len(sizes) != 2 || sizes[0] != 1 || sizes[1] != 4 {
		t.Fatalf("batch sizes %v, want [1 4]", sizes)
	}
}

func TestResultsAndErrorsReachTheirCallers(t *testing.T) {
	boom := errors.New("boom")
	c := New(func(ctx context.Context, b *Batch) {
		for _, r := range b.All() {
			if r.Appends[0].StreamID == "bad" {
				r.Err = boom
				continue
			}
			r.Results = []eventual.AppendResult{{StreamID: r.Appends[0].StreamID, LastVersion: uint64(r.Events())}}
		}
	}, 2, 1024)
	defer c.Close()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			stream := "good"
			if i%5 == 0 {
				stream = "bad"
			}
			res, err := c.Do(context.Background(), []eventual.AppendRequest{{StreamID: stream, Events: make([]eventual.EventData, i+1)}})
			switch {
			case stream == "bad" && !errors.Is(err, boom):
				t.Errorf("request %d: err = %v, want boom", i, err)
			case stream == "good" && (err != nil || res[0].LastVersion != uint64(i+1)):
				t.Errorf("request %d: %v, %v", i, res, err)
			}
		})
	}
	wg.Wait()
}

func TestBatchLimit(t *testing.T) {
	var mu sync.Mutex
	var biggest int
	release := make(chan struct{})
	c := New(func(ctx context.Context, b *Batch) {
		<-release
		n := 0
		for _, r := range b.All() {
			n += r.Events()
			r.Results = make([]eventual.AppendResult, 1)
		}
		mu.Lock()
		biggest = max(biggest, n)
		mu.Unlock()
	}, 1, 10)
	defer c.Close()
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() { c.Do(context.Background(), one(3)) })
	}
	time.Sleep(50 * time.Millisecond) // let them queue behind the first batch
	close(release)
	wg.Wait()
	if biggest > 12 { // the limit is reached by the request that crosses it
		t.Fatalf("a batch held %d events, want at most 10 plus the last request", biggest)
	}
}

func TestCancelledBeforeTakenWritesNothing(t *testing.T) {
	var committed atomic.Int64
	release := make(chan struct{})
	c := New(func(ctx context.Context, b *Batch) {
		<-release
		all := b.All()
		committed.Add(int64(len(all)))
		for _, r := range all {
			r.Results = make([]eventual.AppendResult, 1)
		}
	}, 1, 1024)
	defer c.Close()
	go c.Do(context.Background(), one(1)) // occupies the worker
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := c.Do(ctx, one(1))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	close(release)
	time.Sleep(20 * time.Millisecond)
	if n := committed.Load(); n != 1 {
		t.Fatalf("%d requests committed, want only the first", n)
	}
	if _, err := c.Do(ctx, one(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with a done context: %v, want context.Canceled", err)
	}
}

func TestClose(t *testing.T) {
	c := New(func(ctx context.Context, b *Batch) {
		for _, r := range b.All() {
			r.Results = make([]eventual.AppendResult, 1)
		}
	}, 1, 1024)
	if _, err := c.Do(context.Background(), one(1)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close()
	if _, err := c.Do(context.Background(), one(1)); !errors.Is(err, eventual.ErrClosed) {
		t.Fatalf("Do after Close: %v, want ErrClosed", err)
	}
}

// TestUnreadRequestGoesToTheNextBatch: a request that Wait took but the
// commit function did not read (it stopped early) is written by the next
// batch, not lost.
func TestUnreadRequestGoesToTheNextBatch(t *testing.T) {
	release := make(chan struct{})
	var batch atomic.Int64
	var written atomic.Int64
	c := New(func(ctx context.Context, b *Batch) {
		switch batch.Add(1) {
		case 1: // wait for everyone to queue, then take them all: expect 5 next
			<-release
			for _, r := range b.All() {
				r.Results = make([]eventual.AppendResult, 1)
				written.Add(1)
			}
		case 2: // read one, let Wait take another, stop
			r := b.TryNext()
			r.Results = make([]eventual.AppendResult, 1)
			written.Add(1)
			for i := 0; i < 1000 && !b.Wait(); i++ {
			}
		default:
			for _, r := range b.All() {
				r.Results = make([]eventual.AppendResult, 1)
				written.Add(1)
			}
		}
	}, 1, 1024)
	c.gatherMax = time.Second
	defer c.Close()
	var wg sync.WaitGroup
	call := func() {
		wg.Go(func() {
			if _, err := c.Do(context.Background(), one(1)); err != nil {
				t.Error(err)
			}
		})
	}
	for range 5 {
		call()
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	for range 2 { // batch 2 reads one of these; Wait takes the other
		call()
	}
	wg.Wait()
	if n := written.Load(); n != 7 {
		t.Fatalf("%d requests written, want 7", n)
	}
	if n := batch.Load(); n < 3 {
		t.Fatalf("%d batches, want the unread request in a third", n)
	}
}

// TestStats: the counters add up the batches run, the requests and events
// they held, and the time spent committing them.
func TestStats(t *testing.T) {
	c := New(func(ctx context.Context, b *Batch) {
		spin(time.Millisecond)
		for _, r := range b.All() {
			r.Results = make([]eventual.AppendResult, 1)
		}
	}, 1, 1024)
	defer c.Close()
	for range 5 { // one at a time: a batch each
		if _, err := c.Do(context.Background(), one(3)); err != nil {
			t.Fatal(err)
		}
	}
	st := c.Stats()
	if st.Batches != 5 || st.Appends != 5 || st.Events != 15 || st.Busy < 5*time.Millisecond {
		t.Fatalf("stats %+v, want 5 batches of one request of 3 events, at least 5ms busy", st)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { c.Do(context.Background(), one(1)) })
	}
	wg.Wait()
	st = c.Stats()
	if st.Appends != 25 || st.Events != 35 || st.Batches < 6 || st.Batches > 25 {
		t.Fatalf("stats %+v after 20 more requests of one event", st)
	}
}
