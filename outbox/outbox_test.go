package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/store/memory"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/inproc"
)

func TestAddCommitsWithAppendAndRelaysEveryField(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s := b.New(t)
		o := newOutbox(t, s)
		tr := newTransport(t)
		got := subscribe(t, tr, "orders.>", 1)

		want := transport.Message{
			ID:      "0190f1e2-0000-7000-8000-000000000001",
			Subject: "orders.placed",
			Type:    "order.placed",
			Key:     "order-42",
			Data:    []byte{0, 1, 2, 0xff, '{', '}'},
			Metadata: eventual.Metadata{
				CorrelationID: "corr", CausationID: "cause", TenantID: "tenant", UserID: "ada",
				TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceState: "vendor=x",
				Extra: map[string]string{"a": "1", "ünïcode": "ß ✓", "quote": `"'`},
			},
			ReplyTo: "orders.replies.1",
		}
		plain := transport.NewMessage("orders.noted", "order.noted", nil) // no key, data or metadata
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			if _, err := tx.Append(ctx, "order-42", eventual.NoStream, eventual.EventData{Type: "order.placed"}); err != nil {
				return err
			}
			return o.Add(ctx, tx, want, plain)
		})
		if err != nil {
			t.Fatal(err)
		}
		if st := stats(t, o); st.Backlog != 2 {
			t.Fatalf("backlog before relaying: %d, want 2", st.Backlog)
		}
		startRelay(t, o, tr)
		got.waitDistinct(t, 2)
		ds := got.deliveries()
		if len(ds) != 2 {
			t.Fatalf("received %d messages, want 2", len(ds))
		}
		if !reflect.DeepEqual(ds[0].Message, want) {
			t.Errorf("received\n%#v\nwant\n%#v", ds[0].Message, want)
		}
		if d := ds[1].Message; d.ID != plain.ID || d.Key != "" || len(d.Data) != 0 || !d.Metadata.IsZero() || d.ReplyTo != "" {
			t.Errorf("received %#v, want %#v", d, plain)
		}
		evs, err := eventual.Collect(s.ReadStream(ctx, "order-42", eventual.ReadStreamOptions{}))
		if err != nil || len(evs) != 1 {
			t.Fatalf("the append did not commit: %v, %v", evs, err)
		}
		eventually(t, "backlog 0, counted sent", func() bool { st := stats(t, o); return st.Backlog == 0 && st.Sent == 2 })
		if st := stats(t, o); st.Sent != 2 || st.OldestUnsent != 0 || st.LastError != "" {
			t.Errorf("stats after relaying: %+v", st)
		}
	})
}

func TestRolledBackAddSendsNothing(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s := b.New(t)
		o := newOutbox(t, s)
		tr := newTransport(t)
		got := subscribe(t, tr, "t.>", 1)
		startRelay(t, o, tr)

		lost := msg("t.lost", "k", 1)
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			if _, err := tx.Append(ctx, "s-1", eventual.NoStream, eventual.EventData{Type: "x"}); err != nil {
				return err
			}
			if err := o.Add(ctx, tx, lost); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("InTx: %v, want errBoom", err)
		}
		marker := msg("t.marker", "k", 2)
		add(t, s, o, marker)
		got.waitDistinct(t, 1)
		eventually(t, "backlog 0", func() bool { return stats(t, o).Backlog == 0 })
		for _, d := range got.deliveries() {
			if d.ID != marker.ID {
				t.Errorf("received %s (%s), want only the marker", d.ID, d.Subject)
			}
		}
		if n := count(t, s, "SELECT COUNT(*) FROM eventual_outbox WHERE id = $1", lost.ID); n != 0 {
			t.Errorf("%d rows of the rolled back message", n)
		}
	})
}

func TestInvalidMessagesWriteNothing(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s := b.New(t)
		o := newOutbox(t, s)
		good := msg("t.good", "k", 1)
		for name, bad := range map[string]transport.Message{
			"no ID":                         {Subject: "t.x", Type: "x"},
			"no type":                       {ID: "1", Subject: "t.x"},
			"wildcard subject":              {ID: "1", Subject: "t.*", Type: "x"},
			"bad reply-to":                  {ID: "1", Subject: "t.x", Type: "x", ReplyTo: "a..b"},
			"NUL in key":                    {ID: "1", Subject: "t.x", Type: "x", Key: "a\x00b"},
			"bad UTF-8 in ID":               {ID: "\xff", Subject: "t.x", Type: "x"},
			"bad metadata":                  {ID: "1", Subject: "t.x", Type: "x", Metadata: eventual.Metadata{Extra: map[string]string{"": "v"}}},
			"NUL in a metadata key":         {ID: "1", Subject: "t.x", Type: "x", Metadata: eventual.Metadata{Extra: map[string]string{"a\x00": "v"}}},
			"bad UTF-8 in a metadata value": {ID: "1", Subject: "t.x", Type: "x", Metadata: eventual.Metadata{Extra: map[string]string{"k": "\xff"}}},
			"NUL in the user ID":            {ID: "1", Subject: "t.x", Type: "x", Metadata: eventual.Metadata{UserID: "u\x00"}},
		} {
			t.Run(name, func(t *testing.T) {
				var addErr error
				err := s.InTx(ctx, func(tx eventual.Tx) error {
					addErr = o.Add(ctx, tx, good, bad)
					return nil // commit whatever Add wrote
				})
				if err != nil {
					t.Fatal(err)
				}
				if !errors.Is(addErr, transport.ErrInvalidMessage) {
					t.Errorf("Add: %v, want transport.ErrInvalidMessage", addErr)
				}
				if n := count(t, s, "SELECT COUNT(*) FROM eventual_outbox"); n != 0 {
					t.Errorf("%d rows written", n)
				}
			})
		}
		err := s.InTx(ctx, func(tx eventual.Tx) error { return o.Add(ctx, nil, good) })
		if !errors.Is(err, eventual.ErrInvalidArgument) {
			t.Errorf("Add with a nil tx: %v, want eventual.ErrInvalidArgument", err)
		}
		if err := s.InTx(ctx, func(tx eventual.Tx) error { return o.Add(ctx, tx) }); err != nil {
			t.Errorf("Add of nothing: %v", err)
		}
	})
}

func TestOrderPerKeyAcrossBatches(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		o := newOutbox(t, s, outbox.WithBatchSize(7))
		tr := newTransport(t)
		got := subscribe(t, tr, "t.>", 4)
		const keys, perKey = 10, 30
		// Interleave the keys over transactions of varying size.
		var all []transport.Message
		for n := range perKey {
			for k := range keys {
				all = append(all, msg("t.x", fmt.Sprintf("key-%d", k), n))
			}
		}
		for i := 0; i < len(all); {
			n := min(1+i%13, len(all)-i)
			add(t, s, o, all[i:i+n]...)
			i += n
		}
		startRelay(t, o, tr)
		got.waitDistinct(t, len(all))
		ds := got.deliveries()
		if len(ds) != len(all) {
			t.Errorf("received %d messages, want %d", len(ds), len(all))
		}
		if n := checkOrder(t, ds); n != keys {
			t.Errorf("received %d keys, want %d", n, keys)
		}
	})
}

func TestFailingPublisherKeepsRowsAndRetriesInOrder(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		o := newOutbox(t, s, outbox.WithBatchSize(5), outbox.WithBackoff(time.Millisecond, 4*time.Millisecond))
		tr := newTransport(t)
		got := subscribe(t, tr, "t.>", 2)
		const total, failFirst = 23, 4
		var calls atomic.Int64
		var healed atomic.Bool
		var failedIDs sync.Map // the IDs of the batches that failed
		pub := fakePublisher{publish: func(ctx context.Context, msgs ...transport.Message) error {
			if calls.Add(1) <= failFirst || !healed.Load() {
				for _, m := range msgs {
					failedIDs.Store(m.ID, true)
				}
				return errBoom
			}
			return tr.Publish(ctx, msgs...)
		}}
		var all []transport.Message
		for i := range total {
			all = append(all, msg("t.x", fmt.Sprintf("key-%d", i%3), i))
		}
		add(t, s, o, all...)
		startRelay(t, o, pub)

		eventually(t, "failed publishes", func() bool { return calls.Load() > failFirst })
		st := stats(t, o)
		if st.Backlog != total || st.Sent != 0 || st.LastError == "" || st.LastErrorAt.IsZero() || st.Failures < failFirst {
			t.Fatalf("stats while failing: %+v; want the backlog of %d, nothing sent, the error", st, total)
		}
		failedIDs.Range(func(id, _ any) bool {
			if id != all[0].ID && id != all[1].ID && id != all[2].ID && id != all[3].ID && id != all[4].ID {
				t.Errorf("the relay moved on to message %v past the failed first batch", id)
			}
			return true
		})
		healed.Store(true)
		got.waitDistinct(t, total)
		ds := got.deliveries()
		if len(ds) != total {
			t.Errorf("received %d messages, want %d", len(ds), total)
		}
		checkOrder(t, ds)
		// The sent count follows the marking's commit, which empties the
		// backlog first: wait for both.
		eventually(t, "backlog 0, all counted sent", func() bool {
			st := stats(t, o)
			return st.Backlog == 0 && st.Sent == total
		})
		if st := stats(t, o); st.Sent != total || st.Failures != 0 || st.LastError == "" {
			t.Errorf("stats after healing: %+v; want %d sent, no failure now, the last error kept", st, total)
		}
	})
}

func TestRetention(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		t.Run("zero deletes when sent", func(t *testing.T) {
			s := b.New(t)
			o := newOutbox(t, s, outbox.WithRetention(0))
			tr := newTransport(t)
			got := subscribe(t, tr, "t.>", 1)
			startRelay(t, o, tr)
			for i := range 10 {
				add(t, s, o, msg("t.x", "k", i))
			}
			got.waitDistinct(t, 10)
			eventually(t, "rows deleted", func() bool { return count(t, s, "SELECT COUNT(*) FROM eventual_outbox") == 0 })
			// The counter moves just after the commit that deleted them.
			eventually(t, "10 counted sent", func() bool { return stats(t, o).Sent == 10 })
			if st := stats(t, o); st.Sent != 10 {
				t.Errorf("sent %d, want 10", st.Sent)
			}
		})
		t.Run("cleanup deletes sent rows past retention", func(t *testing.T) {
			ctx := context.Background()
			s := b.New(t)
			o := newOutbox(t, s, outbox.WithRetention(time.Hour))
			tr := newTransport(t)
			stop := startRelay(t, o, tr)
			for i := range 10 {
				add(t, s, o, msg("t.x", "k", i))
			}
			eventually(t, "sent", func() bool { return stats(t, o).Sent == 10 })
			stop()
			if n := count(t, s, "SELECT COUNT(*) FROM eventual_outbox WHERE sent_at IS NOT NULL"); n != 10 {
				t.Fatalf("%d sent rows kept, want 10", n)
			}
			if n, err := o.Cleanup(ctx); n != 0 || err != nil {
				t.Fatalf("Cleanup within retention: %d, %v", n, err)
			}
			// Age four of them past the retention; leave an unsent one.
			exec(t, s, "UPDATE eventual_outbox SET sent_at = sent_at - $1 WHERE seq IN (SELECT seq FROM eventual_outbox ORDER BY seq LIMIT 4)",
				(2 * time.Hour).Microseconds())
			add(t, s, o, msg("t.x", "k", 99))
			exec(t, s, "UPDATE eventual_outbox SET created_at = created_at - $1", (2 * time.Hour).Microseconds())
			if n, err := o.Cleanup(ctx); n != 4 || err != nil {
				t.Fatalf("Cleanup: %d, %v; want 4", n, err)
			}
			if n := count(t, s, "SELECT COUNT(*) FROM eventual_outbox"); n != 7 {
				t.Errorf("%d rows left, want 6 sent and 1 unsent", n)
			}
		})
		t.Run("cleanup in chunks", func(t *testing.T) {
			ctx := context.Background()
			s := b.New(t)
			o := newOutbox(t, s, outbox.WithRetention(time.Minute))
			const n = 5001
			msgs := make([]transport.Message, n)
			for i := range msgs {
				msgs[i] = msg("t.x", "k", i)
			}
			add(t, s, o, msgs...)
			exec(t, s, "UPDATE eventual_outbox SET sent_at = 1")
			if got, err := o.Cleanup(ctx); got != n || err != nil {
				t.Fatalf("Cleanup: %d, %v; want %d", got, err, n)
			}
		})
	})
}

func TestStatsBacklogAndAge(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		o := newOutbox(t, s)
		if st := stats(t, o); st != (outbox.Stats{}) {
			t.Errorf("stats of an empty outbox: %+v", st)
		}
		add(t, s, o, msg("t.x", "a", 1), msg("t.x", "b", 1))
		add(t, s, o, msg("t.x", "a", 2))
		time.Sleep(30 * time.Millisecond)
		st := stats(t, o)
		if st.Backlog != 3 || st.OldestUnsent < 30*time.Millisecond || st.OldestUnsent > time.Minute || st.Sent != 0 {
			t.Errorf("stats: %+v; want a backlog of 3, at least 30ms old", st)
		}
		startRelay(t, o, newTransport(t))
		eventually(t, "backlog 0, counted sent", func() bool { st := stats(t, o); return st.Backlog == 0 && st.Sent == 3 })
		if st := stats(t, o); st.OldestUnsent != 0 || st.Sent != 3 {
			t.Errorf("stats after relaying: %+v", st)
		}
	})
}

func TestConcurrentAddsWhileRelaying(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s := b.New(t)
		o := newOutbox(t, s, outbox.WithBatchSize(64))
		tr := newTransport(t)
		got := subscribe(t, tr, "t.>", 4)
		startRelay(t, o, tr)
		const writers, each = 8, 200
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; {
					n := min(1+(i+w)%4, each-i)
					msgs := make([]transport.Message, n)
					for j := range msgs {
						msgs[j] = msg("t.x", fmt.Sprintf("w%d-k%d", w, (i+j)%5), i+j)
					}
					err := s.InTx(ctx, func(tx eventual.Tx) error {
						if _, err := tx.Append(ctx, fmt.Sprintf("w-%d", w), eventual.Any, eventual.EventData{Type: "x"}); err != nil {
							return err
						}
						return o.Add(ctx, tx, msgs...)
					})
					if err != nil {
						t.Error(err)
						return
					}
					i += n
				}
			}()
		}
		wg.Wait()
		got.waitDistinct(t, writers*each)
		eventually(t, "backlog 0", func() bool { return stats(t, o).Backlog == 0 })
		for id, n := range got.distinct() {
			if n != 1 {
				t.Errorf("message %s received %d times", id, n)
			}
		}
		if n := checkOrder(t, got.deliveries()); n != writers*5 {
			t.Errorf("received %d keys, want %d", n, writers*5)
		}
	})
}

func TestRelayStoppedMidBatchLosesNothing(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		const total, accepted = 120, 20
		o := newOutbox(t, s, outbox.WithBatchSize(50))
		tr := newTransport(t, inproc.WithDedupWindow(0, 0)) // show the duplicates
		got := subscribe(t, tr, "t.>", 1)
		want := map[string]bool{}
		for i := range 3 {
			var msgs []transport.Message
			for j := range total / 3 {
				m := msg("t.x", fmt.Sprintf("k%d", j%7), i*total+j)
				want[m.ID] = true
				msgs = append(msgs, m)
			}
			add(t, s, o, msgs...)
		}

		// The first relay gets the first K messages of its batch out, then
		// stops before Publish returns: nothing is marked sent.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		pub := fakePublisher{publish: func(pctx context.Context, msgs ...transport.Message) error {
			if err := tr.Publish(pctx, msgs[:accepted]...); err != nil {
				return err
			}
			cancel()
			return pctx.Err()
		}}
		if err := o.Relay(ctx, pub); err != nil {
			t.Fatalf("Relay: %v", err)
		}
		if st := stats(t, o); st.Backlog != total {
			t.Fatalf("backlog after the stop: %d, want %d", st.Backlog, total)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		// Restart on the same database.
		s2 := b.Open(t, s)
		o2 := newOutbox(t, s2, outbox.WithBatchSize(50))
		startRelay(t, o2, tr)
		got.waitDistinct(t, total)
		eventually(t, "backlog 0", func() bool { return stats(t, o2).Backlog == 0 })
		ids := got.distinct()
		if len(ids) != total {
			t.Errorf("received %d distinct IDs, want %d", len(ids), total)
		}
		dups := 0
		for id, n := range ids {
			if !want[id] {
				t.Errorf("received unknown ID %s", id)
			}
			dups += n - 1
		}
		if dups != accepted {
			t.Errorf("%d duplicates, want the %d published before the stop", dups, accepted)
		}
	})
}

func TestRelayReturnsWhenTransportClosed(t *testing.T) {
	s := testdb.SQLite().New(t)
	o := newOutbox(t, s)
	tr := newTransport(t)
	add(t, s, o, msg("t.x", "k", 1))
	_ = tr.Close()
	if err := o.Relay(context.Background(), tr); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Relay to a closed transport: %v, want transport.ErrClosed", err)
	}
	if err := o.Relay(context.Background(), nil); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("Relay to nil: %v, want eventual.ErrInvalidArgument", err)
	}
}

func TestNewErrors(t *testing.T) {
	ctx := context.Background()
	mem, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if _, err := outbox.New(ctx, mem); !errors.Is(err, eventual.ErrUnsupported) {
		t.Errorf("New on the memory store: %v, want eventual.ErrUnsupported", err)
	}
	if _, err := outbox.New(ctx, nil); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("New on nil: %v, want eventual.ErrInvalidArgument", err)
	}
	s := testdb.SQLite().New(t)
	for name, opt := range map[string]outbox.Option{
		"batch 0":          outbox.WithBatchSize(0),
		"batch too big":    outbox.WithBatchSize(10_001),
		"poll 0":           outbox.WithPollInterval(0),
		"backoff 0":        outbox.WithBackoff(0, time.Second),
		"backoff inverted": outbox.WithBackoff(time.Second, time.Millisecond),
		"nil logger":       outbox.WithLogger(nil),
		"negative keep":    outbox.WithRetention(-time.Second),
		"nil option":       nil,
	} {
		if _, err := outbox.New(ctx, s, opt); !errors.Is(err, outbox.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}

// Add takes the log's lock (eventual.Tx.LockLog), so outbox rows are
// ordered as their transactions commit: an append by anyone waits for a
// transaction that added messages.
func TestAddLocksTheLog(t *testing.T) {
	testdb.Run(t, testAddLocksTheLog)
}

func testAddLocksTheLog(t *testing.T, b testdb.Backend) {
	s := b.New(t)
	ctx := context.Background()
	o := newOutbox(t, s)
	added, release := make(chan struct{}), make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- s.InTx(ctx, func(tx eventual.Tx) error {
			if err := o.Add(ctx, tx, msg("t.x", "k", 1)); err != nil {
				close(added)
				return err
			}
			close(added)
			<-release
			return nil
		})
	}()
	<-added
	appended := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "other", eventual.Any, eventual.EventData{Type: "x"})
		appended <- err
	}()
	select {
	case err := <-appended:
		close(release)
		t.Fatalf("an append committed (%v) while a transaction that added to the outbox held the lock", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-txDone; err != nil {
		t.Fatal(err)
	}
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
}

// marks wraps a store: it counts the statements that mark outbox rows
// sent, and fails the first ones while fails is above zero.
type marks struct {
	testdb.Store
	fails atomic.Int32
	count atomic.Int32
}

func (s *marks) InTx(ctx context.Context, fn func(tx eventual.Tx) error) error {
	return s.Store.InTx(ctx, func(tx eventual.Tx) error { return fn(&marksTx{Tx: tx, s: s}) })
}

type marksTx struct {
	eventual.Tx
	s *marks
}

func (t *marksTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if strings.HasPrefix(query, "UPDATE eventual_outbox SET sent_at") || strings.HasPrefix(query, "DELETE FROM eventual_outbox WHERE seq IN") {
		t.s.count.Add(1)
		if t.s.fails.Add(-1) >= 0 {
			return 0, errBoom
		}
	}
	return t.Tx.Exec(ctx, query, args...)
}

// A batch that went out but could not be marked sent is published again
// (the transport drops the copies by ID), and nothing is lost.
func TestMarkFailureRepublishes(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := &marks{Store: b.New(t)}
		s.fails.Store(2)
		o := newOutbox(t, s, outbox.WithBatchSize(10), outbox.WithBackoff(time.Millisecond, 10*time.Millisecond))
		var published atomic.Int64
		tr := newTransport(t)
		got := subscribe(t, tr, "m.>", 1)
		var msgs []transport.Message
		for i := range 35 {
			msgs = append(msgs, msg("m.x", "k", i))
		}
		add(t, s, o, msgs...)
		startRelay(t, o, fakePublisher{publish: func(ctx context.Context, ms ...transport.Message) error {
			published.Add(int64(len(ms)))
			return tr.Publish(ctx, ms...)
		}})
		got.waitDistinct(t, 35)
		eventually(t, "the backlog drains", func() bool { return stats(t, o).Backlog == 0 })
		if n := published.Load(); n <= 35 {
			t.Errorf("%d messages published: the batches whose marks failed were not published again", n)
		}
		if n := checkOrder(t, got.deliveries()); n != 1 {
			t.Errorf("%d keys", n)
		}
	})
}

// A hop through the outbox must not wait for every consumer of the batches
// before: with a pipelined publisher (inproc), a message added while a
// consumer still handles an earlier batch goes out at once.
func TestPipelinedRelayDoesNotWaitForEarlierBatches(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		o := newOutbox(t, s)
		tr := newTransport(t)
		entered, release := make(chan struct{}), make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err := tr.Subscribe(ctx, transport.Subscription{Subject: "p.slow", Group: "slow"}, func(context.Context, transport.Delivery) error {
			close(entered)
			<-release
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		fast := subscribe(t, tr, "p.fast", 1)
		startRelay(t, o, tr)
		add(t, s, o, msg("p.slow", "a", 0))
		<-entered
		add(t, s, o, msg("p.fast", "b", 1))
		deadline := time.Now().Add(5 * time.Second)
		for len(fast.deliveries()) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		n := len(fast.deliveries())
		close(release)
		if n == 0 {
			t.Fatal("the second batch waited for the first one's consumer")
		}
		eventually(t, "backlog 0", func() bool { return stats(t, o).Backlog == 0 })
	})
}

// pipelined wraps inproc, failing the acknowledgement of the first batches.
type pipelined struct {
	*inproc.Transport
	fails     atomic.Int64
	published atomic.Int64
}

func (p *pipelined) PublishAsync(ctx context.Context, msgs ...transport.Message) (func(context.Context) error, error) {
	p.published.Add(int64(len(msgs)))
	wait, err := p.Transport.PublishAsync(ctx, msgs...)
	if err != nil || p.fails.Add(-1) < 0 {
		return wait, err
	}
	return func(ctx context.Context) error {
		if err := wait(ctx); err != nil {
			return err
		}
		return errBoom
	}, nil
}

func TestPipelinedAcknowledgementFailureRepublishesInOrder(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		o := newOutbox(t, s, outbox.WithBatchSize(4), outbox.WithBackoff(time.Millisecond, 10*time.Millisecond))
		p := &pipelined{Transport: newTransport(t)}
		p.fails.Store(3)
		got := subscribe(t, p, "q.>", 3)
		var msgs []transport.Message
		for i := range 40 {
			msgs = append(msgs, msg("q.x", fmt.Sprintf("k%d", i%3), i))
		}
		for i := 0; i < len(msgs); i += 5 {
			add(t, s, o, msgs[i:i+5]...)
		}
		startRelay(t, o, p)
		got.waitDistinct(t, len(msgs))
		eventually(t, "the backlog drains", func() bool { return stats(t, o).Backlog == 0 })
		if n := p.published.Load(); n <= int64(len(msgs)) {
			t.Errorf("%d messages published: the batches not acknowledged were not published again", n)
		}
		if n := checkOrder(t, got.deliveries()); n != 3 {
			t.Errorf("%d keys", n)
		}
	})
}

// Batches acknowledged close together are marked sent in one transaction,
// not one each.
func TestAcknowledgedBatchesMarkedTogether(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := &marks{Store: b.New(t)}
		o := newOutbox(t, s, outbox.WithBatchSize(5), outbox.WithRetention(0))
		tr := newTransport(t)
		got := subscribe(t, tr, "c.>", 8)
		var msgs []transport.Message
		for i := range 200 {
			msgs = append(msgs, msg("c.x", fmt.Sprintf("k%d", i%7), i))
		}
		add(t, s, o, msgs...)
		startRelay(t, o, tr)
		got.waitDistinct(t, len(msgs))
		eventually(t, "the backlog drains", func() bool { return stats(t, o).Backlog == 0 })
		if n := s.count.Load(); n > 30 {
			t.Errorf("%d marking statements for 40 batches: not marked together", n)
		}
	})
}

// reads wraps a store: it counts the queries that read unsent rows back.
type reads struct {
	testdb.Store
	n atomic.Int32
}

func (s *reads) Query(ctx context.Context, query string, args ...any) (eventual.Rows, error) {
	if strings.Contains(query, "FROM eventual_outbox WHERE sent_at IS NULL") {
		s.n.Add(1)
	}
	return s.Store.Query(ctx, query, args...)
}

// The relay publishes the rows its own process added from memory, without
// reading them back; rows another process added (a gap in what it holds)
// are read from the table, and every key's order holds throughout.
func TestRelayPublishesRowsAddedHereWithoutReadingThem(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := &reads{Store: b.New(t)}
		o := newOutbox(t, s, outbox.WithBatchSize(8))
		tr := newTransport(t)
		got := subscribe(t, tr, "h.>", 4)
		startRelay(t, o, tr)
		eventually(t, "the relay's first read", func() bool { return s.n.Load() > 0 })
		before := s.n.Load()
		for i := range 20 {
			add(t, s, o, msg("h.x", fmt.Sprintf("k%d", i%3), 2*i), msg("h.x", fmt.Sprintf("k%d", i%3), 2*i+1))
		}
		got.waitDistinct(t, 40)
		if n := s.n.Load() - before; n > 4 {
			t.Errorf("the relay read the table %d times for 20 transactions of its own process", n)
		}

		// Another process's outbox on the same table: its rows leave gaps
		// in what this one holds, and are read from the table.
		other := newOutbox(t, s)
		for i := range 10 { // numbered in the order added, as checkOrder wants
			add(t, s, other, msg("h.x", fmt.Sprintf("k%d", i%3), 100+2*i))
			add(t, s, o, msg("h.x", fmt.Sprintf("k%d", i%3), 100+2*i+1))
		}
		got.waitDistinct(t, 60)
		if checkOrder(t, got.deliveries()) != 3 {
			t.Error("keys missing")
		}
		eventually(t, "the backlog drains", func() bool { return stats(t, o).Backlog == 0 })
	})
}

// TestRelayNeverPublishesRowsUndoneBySavepoint adds messages in a
// savepoint that is rolled back, as the inbox and the saga do for a failed
// handler, and others around it. The relay must publish exactly the
// committed ones: the rows it publishes from memory are announced after
// the commit, and those of the undone savepoint must not be.
func TestRelayNeverPublishesRowsUndoneBySavepoint(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		o := newOutbox(t, s)
		tr := newTransport(t)
		got := subscribe(t, tr, "sp.>", 4)
		startRelay(t, o, tr)
		ctx := t.Context()
		kept := []transport.Message{msg("sp.x", "k", 1), msg("sp.x", "k", 3), msg("sp.x", "k", 4)}
		undone := msg("sp.x", "k", 2)
		err := s.InTx(ctx, func(tx eventual.Tx) error {
			if err := o.Add(ctx, tx, kept[0]); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "SAVEPOINT failed_handler"); err != nil {
				return err
			}
			if err := o.Add(ctx, tx, undone); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT failed_handler"); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT failed_handler"); err != nil {
				return err
			}
			return o.Add(ctx, tx, kept[1:]...)
		})
		if err != nil {
			t.Fatal(err)
		}
		add(t, s, o, msg("sp.x", "k", 5)) // and a later transaction's
		got.waitDistinct(t, 4)
		eventually(t, "the backlog drains", func() bool { return stats(t, o).Backlog == 0 })
		time.Sleep(50 * time.Millisecond) // time for a wrong extra delivery
		if got.distinct()[undone.ID] != 0 {
			t.Errorf("the relay published a message whose savepoint was rolled back")
		}
		var data []string
		for _, d := range got.deliveries() {
			data = append(data, string(d.Data))
		}
		if !slices.Equal(data, []string{"1", "3", "4", "5"}) {
			t.Errorf("received %v, want [1 3 4 5] in order", data)
		}
	})
}
