package saga

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/store/sqlite"
	"github.com/eventual-go/eventual/transport"
)

// tally is saga data holding a map, as many sagas' data do (line items,
// reservations by SKU, ...).
type tally struct {
	Counts map[string]int `json:"counts"`
}

func (t *tally) Clone() tally {
	c := tally{Counts: make(map[string]int, len(t.Counts))}
	for k, v := range t.Counts {
		c.Counts[k] = v
	}
	return c
}

// tallyOrchestrator returns an orchestrator (not running: the test calls
// process itself) of a saga whose first step is a local one that counts
// its runs in the data and in a table, followed by a command step.
func tallyOrchestrator(t *testing.T, opts ...Option) (*Orchestrator[tally], *sqlite.Store) {
	t.Helper()
	st := openTestStore(t, "CREATE TABLE local_runs (id TEXT NOT NULL)")
	def, err := Define[tally]("tally").
		Step("count").
		Local(func(ctx context.Context, tx eventual.Tx, d *tally) error {
			d.Counts["count"]++
			_, err := tx.Exec(ctx, "INSERT INTO local_runs (id) VALUES ('x')")
			return err
		}).
		Step("wait").
		Command(func(context.Context, *tally) (transport.Message, error) {
			return transport.NewMessage("x.commands", "x.do", []byte("x")), nil
		}).
		OnReply("x.done", func(_ context.Context, d *tally, _ transport.Delivery) error { d.Counts["done"]++; return nil }).
		Step("wait-more").
		Command(func(context.Context, *tally) (transport.Message, error) {
			return transport.NewMessage("x.commands", "x.more", []byte("x")), nil
		}).
		OnReply("x.more-done", nil).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	return newTestOrchestrator(t, st, def, opts...), st
}

// TestBatchRetryStartsFromTheCallersData: a batch of starts whose
// transaction fails (here: one instance's history stream exists already)
// is retried item by item. The retry of a good start must run its steps
// on the data it was given, not on data the failed attempt changed.
func TestBatchRetryStartsFromTheCallersData(t *testing.T) {
	ctx := context.Background()
	o, st := tallyOrchestrator(t)
	// "bad" cannot start: its history stream exists, so the batch's
	// append of the histories conflicts and the transaction rolls back.
	if _, err := st.Append(ctx, StreamID("tally", "bad"), eventual.NoStream,
		eventual.EventData{Type: "x", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	good := &item[tally]{kind: kindStart, id: "good", data: tally{Counts: map[string]int{}}, done: make(chan error, 1)}
	bad := &item[tally]{kind: kindStart, id: "bad", data: tally{Counts: map[string]int{}}, done: make(chan error, 1)}
	o.process(ctx, []*item[tally]{good, bad})
	if err := <-good.done; err != nil || !good.started {
		t.Fatalf("good start: started %v, %v", good.started, err)
	}
	if err := <-bad.done; err == nil {
		t.Fatal("bad start succeeded")
	}
	if runs, got := countedRuns(t, o, st, "good"); got != runs {
		t.Errorf("committed: the local step ran %d time(s) (rows in its table), but the instance's data counts %d: "+
			"the retry ran it on the data the rolled-back attempt had changed", runs, got)
	}
}

// countedRuns returns how many times the tally saga's local step ran, by
// the rows it committed, and how many runs instance id's data counts.
func countedRuns(t *testing.T, o *Orchestrator[tally], st *sqlite.Store, id string) (runs, counted int) {
	t.Helper()
	ctx := context.Background()
	if err := st.QueryRow(ctx, "SELECT COUNT(*) FROM local_runs").Scan(&runs); err != nil {
		t.Fatal(err)
	}
	in, err := o.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return runs, in.Data.Counts["count"]
}

// TestStartTxRetriedWithTheSameData: a caller that retries its
// transaction with the same data (a common retry loop) gets an instance
// whose data does not hold the rolled-back attempt's changes.
func TestStartTxRetriedWithTheSameData(t *testing.T) {
	ctx := context.Background()
	o, st := tallyOrchestrator(t)
	data := tally{Counts: map[string]int{}}
	errLater := errors.New("something later in the caller's transaction failed")
	for attempt := 1; ; attempt++ {
		err := st.InTx(ctx, func(tx eventual.Tx) error {
			if _, err := o.StartTx(ctx, tx, "x", data); err != nil {
				return err
			}
			if attempt == 1 {
				return errLater
			}
			return nil
		})
		if err == nil {
			break
		}
		if !errors.Is(err, errLater) {
			t.Fatal(err)
		}
	}
	if runs, got := countedRuns(t, o, st, "x"); got != runs {
		t.Errorf("committed: the local step ran %d time(s), but the instance's data counts %d (caller's data now %v)",
			runs, got, data.Counts)
	}
}

// TestCachedStateAfterFailedBatch: with a state cache, a batch that
// fails and is retried item by item leaves in the cache the state the
// table holds, not one of the failed attempt.
func TestCachedStateAfterFailedBatch(t *testing.T) {
	ctx := context.Background()
	o, st := tallyOrchestrator(t, WithStateCache(10))
	start := &item[tally]{kind: kindStart, id: "a", data: tally{Counts: map[string]int{}}, done: make(chan error, 1)}
	o.process(ctx, []*item[tally]{start})
	if err := <-start.done; err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, StreamID("tally", "bad"), eventual.NoStream,
		eventual.EventData{Type: "x", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	var awaiting string
	if err := st.QueryRow(ctx, "SELECT awaiting FROM eventual_sagas WHERE id = 'a'").Scan(&awaiting); err != nil {
		t.Fatal(err)
	}
	reply := func() *item[tally] {
		return &item[tally]{kind: kindReply, id: "a", d: transport.Delivery{Message: transport.Message{ID: "r-1", Type: "x.done",
			Metadata: eventual.Metadata{CausationID: awaiting + "1"}}}, done: make(chan error, 1)}
	}
	r1, r2 := reply(), reply() // a duplicate in the same batch
	bad := &item[tally]{kind: kindStart, id: "bad", data: tally{Counts: map[string]int{}}, done: make(chan error, 1)}
	o.process(ctx, []*item[tally]{r1, bad, r2})
	for _, it := range []*item[tally]{r1, r2} {
		if err := <-it.done; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-bad.done; err == nil {
		t.Fatal("bad start succeeded")
	}
	var fromTable map[string]*state[tally]
	if err := st.InTx(ctx, func(tx eventual.Tx) (err error) {
		fromTable, err = loadAll[tally](ctx, tx, "tally", []string{"a"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := fromTable["a"]
	o.cache.mu.Lock()
	got := o.cache.m["a"]
	o.cache.mu.Unlock()
	if got == nil {
		t.Fatal("the cache does not hold a")
	}
	if got.version != want.version || got.status != want.status || got.step != want.step || got.awaiting != want.awaiting ||
		!reflect.DeepEqual(got.data, want.data) || !got.due.Equal(want.due) || string(got.recorded) != string(want.recorded) {
		t.Errorf("cached %+v\ntable  %+v", *got, *want)
	}
	if want.data.Counts["done"] != 1 {
		t.Errorf("the reply handler's effect counted %d times, want 1", want.data.Counts["done"])
	}
}

// TestCacheAfterUnrecognizedRollbackTo: a ROLLBACK TO the store does
// not recognize (a comment before it; SQLite runs it like any other)
// leaves the state of an undone start in the cache. Once another process
// starts the instance with other data, at the same version, the cached
// state is taken for the table's.
func TestCacheAfterUnrecognizedRollbackTo(t *testing.T) {
	ctx := context.Background()
	o, st := tallyOrchestrator(t, WithStateCache(10))
	err := st.InTx(ctx, func(tx eventual.Tx) error {
		if _, err := tx.Exec(ctx, "SAVEPOINT caller"); err != nil {
			return err
		}
		if _, err := o.StartTx(ctx, tx, "x", tally{Counts: map[string]int{"from-undone-start": 1}}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "/* the caller's step failed */ ROLLBACK TO SAVEPOINT caller")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Another process (a store and an orchestrator of its own) starts x.
	st2, err := sqlite.Open(ctx, st.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	ob2, err := outbox.New(ctx, st2, outbox.WithLogger(o.log))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewOrchestrator(ctx, st2, o.def, ob2, WithLogger(o.log))
	if err != nil {
		t.Fatal(err)
	}
	if err := st2.InTx(ctx, func(tx eventual.Tx) error {
		_, err := other.StartTx(ctx, tx, "x", tally{Counts: map[string]int{"from-committed-start": 1}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var awaiting string
	if err := st.QueryRow(ctx, "SELECT awaiting FROM eventual_sagas WHERE id = 'x'").Scan(&awaiting); err != nil {
		t.Fatal(err)
	}
	reply := &item[tally]{kind: kindReply, id: "x", d: transport.Delivery{Message: transport.Message{ID: "r-1", Type: "x.done",
		Metadata: eventual.Metadata{CausationID: awaiting + "1"}}}, done: make(chan error, 1)}
	o.process(ctx, []*item[tally]{reply})
	if err := <-reply.done; err != nil {
		t.Fatal(err)
	}
	in, err := o.Get(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if in.Data.Counts["from-committed-start"] != 1 || in.Data.Counts["from-undone-start"] != 0 {
		t.Errorf("the reply was applied to the state of the undone start: data %v", in.Data.Counts)
	}
}
