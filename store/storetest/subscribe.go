package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
)

func testSubscribe(t *testing.T, b Backend) {
	s := b.open(t)
	s2 := b.share(t, s)
	first := mustAppend(t, s, "sub-a", eventual.NoStream, evs("a", 5)...)

	sub := subscribe(t, s, eventual.SubscribeOptions{})
	got := sub.take(t, 5)
	if !equalU64(versions(got), seq(1, 5)) {
		t.Fatalf("catch-up versions = %v", versions(got))
	}
	sub.quiet(t)

	start := time.Now()
	mustAppend(t, s, "sub-b", eventual.NoStream, ev("b", 1))
	live := sub.take(t, 1)
	t.Logf("live delivery after an append in this handle: %v", time.Since(start))
	if live[0].StreamID != "sub-b" || live[0].Position <= got[4].Position {
		t.Fatalf("live event %q@%d, want sub-b after %d", live[0].StreamID, live[0].Position, got[4].Position)
	}

	start = time.Now()
	mustAppend(t, s2, "sub-c", eventual.NoStream, evs("c", 2)...)
	other := sub.take(t, 2)
	t.Logf("live delivery after an append through another handle: %v", time.Since(start))
	if other[0].StreamID != "sub-c" || other[1].Version != 2 {
		t.Fatalf("events from the other handle: %q v%d, %q v%d", other[0].StreamID, other[0].Version, other[1].StreamID, other[1].Version)
	}
	sub.quiet(t)

	t.Run("resume after a checkpoint", func(t *testing.T) {
		resumed := subscribe(t, s, eventual.SubscribeOptions{From: first.FirstPosition + 3})
		got := resumed.take(t, 5)
		want := []string{"sub-a", "sub-a", "sub-b", "sub-c", "sub-c"}
		for i, e := range got {
			if e.StreamID != want[i] {
				t.Fatalf("resumed event %d of stream %q, want %q", i, e.StreamID, want[i])
			}
		}
		if got[0].Version != 4 {
			t.Fatalf("resumed at version %d of sub-a, want 4", got[0].Version)
		}
		resumed.quiet(t)
	})

	t.Run("filtered", func(t *testing.T) {
		byType := subscribe(t, s, eventual.SubscribeOptions{Filter: eventual.Filter{Types: []string{"c", "d"}}})
		byPrefix := subscribe(t, s2, eventual.SubscribeOptions{Filter: eventual.Filter{StreamPrefix: "sub-d"}})
		if got := byType.take(t, 2); got[0].Type != "c" || got[1].Type != "c" {
			t.Fatalf("caught up with types %q %q, want c c", got[0].Type, got[1].Type)
		}
		byType.quiet(t)
		byPrefix.quiet(t)
		// Many non-matching events, then one matching: the filter must
		// skip the noise and still deliver the match live.
		mustAppend(t, s, "noise", eventual.Any, evs("noise", 50)...)
		mustAppend(t, s2, "sub-d", eventual.NoStream, ev("d", 1))
		if got := byType.take(t, 1); got[0].StreamID != "sub-d" {
			t.Fatalf("live filtered event of %q", got[0].StreamID)
		}
		if got := byPrefix.take(t, 1); got[0].Type != "d" {
			t.Fatalf("live prefix-filtered event of type %q", got[0].Type)
		}
		byType.quiet(t)
		byPrefix.quiet(t)
	})

	t.Run("ends with its context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(testContext(t))
		var last error
		n := 0
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, err := range s.Subscribe(ctx, eventual.SubscribeOptions{}) {
				if err != nil {
					last = err
					continue
				}
				if n++; n == 3 {
					cancel()
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("subscription did not end after its context was cancelled")
		}
		if !errors.Is(last, context.Canceled) {
			t.Fatalf("subscription ended with %v, want context.Canceled", last)
		}
	})
}

// writeConcurrently runs writers goroutines, each appending perWriter
// events to its own stream through the store handles in turn; every fourth
// append holds three events. It returns the IDs of all events written.
func writeConcurrently(t *testing.T, handles []eventual.Store, prefix string, writers, perWriter int) map[uuid.UUID]bool {
	t.Helper()
	ctx := testContext(t)
	var mu sync.Mutex
	ids := make(map[uuid.UUID]bool, writers*perWriter)
	var wg sync.WaitGroup
	for w := range writers {
		s := handles[w%len(handles)]
		wg.Go(func() {
			stream := fmt.Sprintf("%s-%d", prefix, w)
			for i := 0; i < perWriter; {
				n := 1
				if i%4 == 3 {
					n = min(3, perWriter-i)
				}
				batch := make([]eventual.EventData, n)
				for j := range batch {
					batch[j] = withID(ev("written", i+j))
				}
				if _, err := s.Append(ctx, stream, eventual.Exact(uint64(i)), batch...); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				for _, e := range batch {
					ids[e.ID] = true
				}
				mu.Unlock()
				i += n
			}
		})
	}
	wg.Wait()
	return ids
}

// CheckDelivery checks what a subscription delivered against the events
// written and the global log read afterwards: every written event exactly
// once, positions strictly increasing, per-stream versions in order, and the
// same sequence as the log. It returns the first violation found.
func CheckDelivery(delivered []eventual.RecordedEvent, written map[uuid.UUID]bool, log []eventual.RecordedEvent) error {
	seen := make(map[uuid.UUID]bool, len(delivered))
	lastVersion := map[string]uint64{}
	for i, e := range delivered {
		if seen[e.ID] {
			return fmt.Errorf("event %s (stream %q v%d @%d) delivered twice", e.ID, e.StreamID, e.Version, e.Position)
		}
		seen[e.ID] = true
		if i > 0 && e.Position <= delivered[i-1].Position {
			return fmt.Errorf("position went from %d to %d at delivery %d", delivered[i-1].Position, e.Position, i)
		}
		if v := lastVersion[e.StreamID]; e.Version != v+1 && v != 0 {
			return fmt.Errorf("stream %q went from version %d to %d", e.StreamID, v, e.Version)
		}
		lastVersion[e.StreamID] = e.Version
	}
	missing := 0
	for id := range written {
		if !seen[id] {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("%d of %d written events never delivered (skipped)", missing, len(written))
	}
	if len(log) != len(delivered) {
		return fmt.Errorf("the log holds %d events, the subscription delivered %d", len(log), len(delivered))
	}
	for i := range log {
		if log[i].ID != delivered[i].ID || log[i].Position != delivered[i].Position {
			return fmt.Errorf("delivery %d was %s@%d, the log says %s@%d", i, delivered[i].ID, delivered[i].Position, log[i].ID, log[i].Position)
		}
	}
	return nil
}

// testGlobalOrder is the commit-order test: 64 writers on distinct streams,
// through two handles when the backend can share, while subscriptions on
// both handles run. A backend whose positions do not follow commit order
// makes subscriptions skip events here.
func testGlobalOrder(t *testing.T, b Backend) {
	s := b.open(t)
	s2 := b.share(t, s)
	const writers = 64
	perWriter := 40
	if b.Short {
		perWriter = 12
	}
	total := writers * perWriter
	subs := []*subscriber{subscribe(t, s, eventual.SubscribeOptions{}), subscribe(t, s2, eventual.SubscribeOptions{})}
	written := writeConcurrently(t, []eventual.Store{s, s2}, "order", writers, perWriter)
	if len(written) != total {
		t.Fatalf("wrote %d events, want %d", len(written), total)
	}
	log := readAll(t, s, eventual.ReadAllOptions{})
	for i, sub := range subs {
		got := sub.take(t, total)
		sub.quiet(t)
		if err := CheckDelivery(got, written, log); err != nil {
			t.Fatalf("subscription %d: %v", i, err)
		}
	}
	if log2 := readAll(t, s2, eventual.ReadAllOptions{}); !equalU64(positions(log2), positions(log)) {
		t.Fatal("the two handles read different logs")
	}
}

// testCatchUpToLive starts subscriptions while writers are busy, so they
// cross from reading history to live delivery under load; then resumes from
// a checkpoint in the middle.
func testCatchUpToLive(t *testing.T, b Backend) {
	s := b.open(t)
	s2 := b.share(t, s)
	ctx := testContext(t)
	const writers = 8
	perWriter := 150
	if b.Short {
		perWriter = 60
	}
	var written sync.Map
	var count atomic.Int64
	var wg sync.WaitGroup
	started := make(chan struct{})
	var once sync.Once
	for w := range writers {
		h := []eventual.Store{s, s2}[w%2]
		wg.Go(func() {
			for i := range perWriter {
				e := withID(ev("live", i))
				if _, err := h.Append(ctx, fmt.Sprintf("live-%d", w), eventual.Exact(uint64(i)), e); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				written.Store(e.ID, true)
				if count.Add(1) == int64(writers*perWriter/3) {
					once.Do(func() { close(started) })
				}
			}
		})
	}
	<-started
	sub := subscribe(t, s, eventual.SubscribeOptions{})
	wg.Wait()
	total := writers * perWriter
	ids := map[uuid.UUID]bool{}
	written.Range(func(k, _ any) bool { ids[k.(uuid.UUID)] = true; return true })
	got := sub.take(t, total)
	sub.quiet(t)
	log := readAll(t, s, eventual.ReadAllOptions{})
	if err := CheckDelivery(got, ids, log); err != nil {
		t.Fatal(err)
	}

	mid := log[len(log)/2].Position
	resumed := subscribe(t, s2, eventual.SubscribeOptions{From: mid + 1})
	rest := resumed.take(t, len(log)-len(log)/2-1)
	resumed.quiet(t)
	if rest[0].Position <= mid || rest[0].ID != log[len(log)/2+1].ID {
		t.Fatalf("resumed at %d, want the event after %d", rest[0].Position, mid)
	}
}

// testNotifier checks eventual.Notifier: an append, through this handle,
// a transaction or another handle, closes the channel taken before it.
func testNotifier(t *testing.T, b Backend) {
	s := b.open(t)
	n, ok := s.(eventual.Notifier)
	if !ok {
		t.Skipf("the store that Backend.New returns (%T) has no Appended() <-chan struct{} method (eventual.Notifier); "+
			"add one to that type to run this test — store/sqlite, store/postgres and store/memory have it", s)
	}
	closed := func(c <-chan struct{}, within time.Duration) bool {
		select {
		case <-c:
			return true
		case <-time.After(within):
			return false
		}
	}
	// Spurious wake-ups are allowed (a listener reconnecting, a poll), so
	// only the wake-ups that must happen are checked.
	c := n.Appended()
	mustAppend(t, s, "notify-a", eventual.NoStream, ev("a", 1))
	if !closed(c, 5*time.Second) {
		t.Fatal("an append did not close the channel")
	}
	if txs, ok := s.(eventual.TxStore); ok {
		c = n.Appended()
		err := txs.InTx(context.Background(), func(tx eventual.Tx) error {
			if _, err := tx.Append(context.Background(), "notify-tx", eventual.NoStream, ev("a", 1)); err != nil {
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !closed(c, 5*time.Second) {
			t.Fatal("a transaction's append did not close the channel")
		}
	}
	if b.Share != nil {
		s2 := b.share(t, s)
		c = n.Appended()
		mustAppend(t, s2, "notify-b", eventual.NoStream, ev("a", 1))
		if !closed(c, 5*time.Second) {
			t.Fatal("an append through another handle did not close the channel within 5 s")
		}
	}
}
