package projection_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/projection"
)

var quiet = slog.New(slog.DiscardHandler)

// balances is the projection of the tests: the sum and count of
// "deposited" events per account stream.
func balances(hooks ...func(e eventual.RecordedEvent) error) projection.Projection {
	return projection.Projection{
		Name:   "balances",
		Filter: eventual.Filter{Types: []string{"deposited"}},
		Tables: []string{"balances"},
		Setup: func(ctx context.Context, tx eventual.Tx, t projection.Tables) error {
			_, err := tx.Exec(ctx, "CREATE TABLE "+t.Name("balances")+" (account TEXT PRIMARY KEY, total BIGINT NOT NULL, n BIGINT NOT NULL)")
			return err
		},
		Handle: func(ctx context.Context, tx eventual.Tx, t projection.Tables, e eventual.RecordedEvent) error {
			for _, h := range hooks {
				if err := h(e); err != nil {
					return err
				}
			}
			amount, err := strconv.ParseInt(string(e.Data), 10, 64)
			if err != nil {
				return err
			}
			table := t.Name("balances")
			_, err = tx.Exec(ctx, "INSERT INTO "+table+" (account, total, n) VALUES ($1, $2, 1) "+
				"ON CONFLICT (account) DO UPDATE SET total = "+table+".total + excluded.total, n = "+table+".n + 1",
				e.StreamID, amount)
			return err
		},
	}
}

func start(t *testing.T, s testdb.Store, ps []projection.Projection, opts ...projection.Option) *projection.Runner {
	t.Helper()
	r, err := projection.NewRunner(s, append([]projection.Option{projection.WithLogger(quiet),
		projection.WithRetry(3, func(int) time.Duration { return 5 * time.Millisecond })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add(ps...); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func deposit(t testing.TB, s eventual.Store, account string, amounts ...int) eventual.AppendResult {
	t.Helper()
	var evs []eventual.EventData
	for _, a := range amounts {
		evs = append(evs, eventual.EventData{Type: "deposited", Data: []byte(strconv.Itoa(a))})
	}
	res, err := s.Append(context.Background(), account, eventual.Any, evs...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func other(t testing.TB, s eventual.Store) eventual.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), "noise", eventual.Any, eventual.EventData{Type: "noticed"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

type balance struct{ total, n int64 }

func read(t testing.TB, q eventual.Querier) map[string]balance {
	t.Helper()
	rows, err := q.Query(context.Background(), "SELECT account, total, n FROM balances")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]balance{}
	for rows.Next() {
		var a string
		var b balance
		if err := rows.Scan(&a, &b.total, &b.n); err != nil {
			t.Fatal(err)
		}
		out[a] = b
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func waitFor(t testing.TB, r *projection.Runner, name string, pos uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.WaitFor(ctx, name, pos); err != nil {
		t.Fatal(err)
	}
}

func status(t testing.TB, r *projection.Runner, name string) projection.Status {
	t.Helper()
	s, err := r.StatusOf(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// eventually waits until cond holds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReadYourWrites(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		deposit(t, s, "acc-1", 10, 20) // before the start: caught up
		r := start(t, s, []projection.Projection{balances()})
		for i := range 20 {
			res := deposit(t, s, fmt.Sprintf("acc-%d", i%3), i)
			waitFor(t, r, "balances", res.LastPosition)
			got := read(t, s)
			var n int64
			for _, b := range got {
				n += b.n
			}
			if n != int64(i+3) {
				t.Fatalf("after deposit %d and WaitFor, the read model holds %d deposits, want %d", i, n, i+3)
			}
		}
		// A position of an event the filter leaves out is reached too.
		waitFor(t, r, "balances", other(t, s).LastPosition)
		st := status(t, r, "balances")
		if st.State != projection.StateRunning || st.Generation != 1 || st.LagEvents != 0 || st.Lag != 0 || st.Checkpoint != st.Head {
			t.Errorf("status %+v", st)
		}
	})
}

// Restarts in the middle of the work never apply an event twice nor lose
// one: the checkpoint commits with the rows.
func TestRestartsApplyEachEventOnce(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		var wg sync.WaitGroup
		var last atomic.Uint64
		const writers, perWriter = 4, 150
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					res := deposit(t, s, fmt.Sprintf("acc-%d", w), 1)
					if i == perWriter-1 {
						for p := last.Load(); p < res.LastPosition && !last.CompareAndSwap(p, res.LastPosition); p = last.Load() {
						}
					}
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		restarts := 0
		for running := true; running; restarts++ {
			select {
			case <-done:
				running = false
			default:
			}
			h := b.Open(t, s)
			r, err := projection.NewRunner(h, projection.WithLogger(quiet), projection.WithBatchSize(7, 50))
			if err != nil {
				t.Fatal(err)
			}
			_ = r.Add(balances())
			if err := r.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(5+restarts%10) * time.Millisecond)
			if !running {
				waitFor(t, r, "balances", last.Load())
			}
			_ = r.Close()
			_ = h.Close()
		}
		for acc, bal := range read(t, s) {
			if bal.n != perWriter || bal.total != perWriter {
				t.Errorf("%s: %d deposits totalling %d after %d restarts, want %d", acc, bal.n, bal.total, restarts, perWriter)
			}
		}
		t.Logf("%d restarts", restarts)
	})
}

func TestFailedProjectionStopsAloneAndSkips(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		poison := errors.New("cannot apply 13")
		bad := balances(func(e eventual.RecordedEvent) error {
			if string(e.Data) == "13" {
				return poison
			}
			return nil
		})
		good := balances()
		good.Name, good.Tables = "all_balances", nil // writes into no table of its own
		good.Setup, good.Handle = nil, func(context.Context, eventual.Tx, projection.Tables, eventual.RecordedEvent) error { return nil }
		r := start(t, s, []projection.Projection{bad, good})

		deposit(t, s, "acc-1", 1, 2)
		res := deposit(t, s, "acc-1", 3, 13, 4) // one batch; the 13 fails
		poisonPos := res.FirstPosition + 1
		after := deposit(t, s, "acc-2", 5)

		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		err := r.WaitFor(ctx, "balances", after.LastPosition)
		var fe *projection.FailedError
		if !errors.As(err, &fe) || !errors.Is(err, projection.ErrFailed) || fe.Position != poisonPos {
			t.Fatalf("WaitFor past the poison = %v, want a FailedError at %d", err, poisonPos)
		}
		waitFor(t, r, "all_balances", after.LastPosition) // the other one goes on
		st := status(t, r, "balances")
		if st.State != projection.StateFailed || st.FailedPosition != poisonPos || st.LastError != poison.Error() || st.LagEvents == 0 || st.Lag <= 0 {
			t.Fatalf("status %+v", st)
		}
		// The events before the poison in its batch were applied.
		if got := read(t, s)["acc-1"]; got.total != 6 || got.n != 3 {
			t.Errorf("acc-1 = %+v, want the three deposits before the poison", got)
		}
		if err := r.Skip(t.Context(), "balances", poisonPos+1); !errors.Is(err, eventual.ErrInvalidArgument) {
			t.Errorf("Skip of another position: %v, want ErrInvalidArgument", err)
		}
		if err := r.Rebuild(t.Context(), "balances"); !errors.Is(err, projection.ErrFailed) {
			t.Errorf("Rebuild of a failed projection: %v, want ErrFailed", err)
		}
		if err := r.Skip(t.Context(), "balances", poisonPos); err != nil {
			t.Fatal(err)
		}
		waitFor(t, r, "balances", after.LastPosition)
		got := read(t, s)
		if got["acc-1"].total != 10 || got["acc-2"].total != 5 {
			t.Errorf("after the skip: %+v, want acc-1 10 (no 13) and acc-2 5", got)
		}
		if st := status(t, r, "balances"); st.State != projection.StateRunning || st.FailedPosition != 0 {
			t.Errorf("status after skip %+v", st)
		}
	})
}

func TestResumeAfterFix(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		var broken atomic.Bool
		broken.Store(true)
		p := balances(func(e eventual.RecordedEvent) error {
			if broken.Load() && string(e.Data) == "7" {
				return errors.New("broken for now")
			}
			return nil
		})
		r := start(t, s, []projection.Projection{p})
		res := deposit(t, s, "acc", 1, 7, 2)
		eventually(t, "the projection fails", func() bool { return status(t, r, "balances").State == projection.StateFailed })
		broken.Store(false)
		if err := r.Resume(t.Context(), "balances"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, r, "balances", res.LastPosition)
		if got := read(t, s)["acc"]; got.total != 10 || got.n != 3 {
			t.Errorf("after resume: %+v, want all three deposits", got)
		}
		// A transient failure is retried without failing.
		var flaky atomic.Int32
		flakyP := projection.Projection{Name: "flaky_balances",
			Handle: func(context.Context, eventual.Tx, projection.Tables, eventual.RecordedEvent) error {
				if flaky.Add(1) <= 2 {
					return errors.New("flaky")
				}
				return nil
			}}
		r2 := start(t, b.Open(t, s), []projection.Projection{flakyP})
		waitFor(t, r2, "flaky_balances", res.LastPosition)
		if st := status(t, r2, "flaky_balances"); st.State != projection.StateRunning || st.LastError != "flaky" {
			t.Errorf("status after transient failures %+v", st)
		}
	})
}

// A batch handler that fails is narrowed down to the failing event.
func TestBatchHandlerFailureFindsTheEvent(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		var applied atomic.Int64
		p := projection.Projection{
			Name: "batched",
			HandleBatch: func(ctx context.Context, tx eventual.Tx, _ projection.Tables, events []eventual.RecordedEvent) error {
				for _, e := range events {
					if string(e.Data) == "13" {
						return errors.New("13 again")
					}
				}
				applied.Add(int64(len(events)))
				return nil
			},
		}
		r := start(t, s, []projection.Projection{p})
		res := deposit(t, s, "acc", 1, 2, 13, 4)
		eventually(t, "the projection fails", func() bool { return status(t, r, "batched").State == projection.StateFailed })
		if st := status(t, r, "batched"); st.FailedPosition != res.FirstPosition+2 || st.Checkpoint != res.FirstPosition+1 {
			t.Errorf("status %+v, want failed at %d with checkpoint %d", st, res.FirstPosition+2, res.FirstPosition+1)
		}
		if err := r.Skip(t.Context(), "batched", res.FirstPosition+2); err != nil {
			t.Fatal(err)
		}
		waitFor(t, r, "batched", res.LastPosition)
		if n := applied.Load(); n != 3 {
			t.Errorf("%d events applied, want 3", n)
		}
	})
}

// With a Linger, the events appended while the projection waits after a
// batch make one batch; an event after a quiet spell is handled at once.
func TestLingerGathersTheEventsOfABusyLog(t *testing.T) {
	const linger = time.Second
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		var mu sync.Mutex
		var sizes []int
		p := projection.Projection{
			Name:   "lingering",
			Linger: linger,
			HandleBatch: func(_ context.Context, _ eventual.Tx, _ projection.Tables, events []eventual.RecordedEvent) error {
				mu.Lock()
				defer mu.Unlock()
				sizes = append(sizes, len(events))
				return nil
			},
		}
		r := start(t, s, []projection.Projection{p})
		batches := func() []int {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(sizes)
		}
		waitFor(t, r, "lingering", deposit(t, s, "acc", 1).LastPosition)
		if got := batches(); !slices.Equal(got, []int{1}) {
			t.Fatalf("batches %v after the first event, want [1]", got)
		}
		// Ten appends, one by one, within the second the projection waits.
		began := time.Now()
		var last uint64
		for i := range 10 {
			last = deposit(t, s, "acc", i).LastPosition
		}
		took := time.Since(began)
		waitFor(t, r, "lingering", last)
		got := batches()
		if took <= linger/2 {
			if !slices.Equal(got, []int{1, 10}) {
				t.Fatalf("batches %v, want [1 10]: the ten events in one batch", got)
			}
		} else {
			// A machine this slow spread the appends over more than half
			// the linger: each linger still gathers what came meanwhile,
			// so the ten make at most one batch per linger they spanned
			// (without a linger: one batch each).
			most := int(took/linger) + 2
			if len(got) < 2 || len(got)-1 > most || sum(got[1:]) != 10 {
				t.Fatalf("the appends took %v: batches %v, want the ten events in at most %d batches", took, got, most)
			}
			t.Logf("the appends took %v (over half the linger): batches %v", took, got)
		}
		// After a quiet spell longer than the linger, at once: WaitFor
		// returns before another linger could have passed.
		time.Sleep(linger + 200*time.Millisecond)
		began = time.Now()
		waitFor(t, r, "lingering", deposit(t, s, "acc", 11).LastPosition)
		if waited := time.Since(began); waited > 900*time.Millisecond {
			t.Errorf("an event after a quiet spell waited %v", waited)
		}
		if after := batches(); !slices.Equal(after, append(got, 1)) {
			t.Fatalf("batches %v, want %v", after, append(got, 1))
		}
	})
}

// On SQLite, projection transactions commit without waiting for the flush
// unless WithDurableCommits: they can be made again from the log.
func TestProjectionCommitsWithoutTheFlushUnlessDurable(t *testing.T) {
	for _, durable := range []bool{false, true} {
		s := testdb.SQLite().New(t)
		levels := make(chan int, 1)
		p := projection.Projection{
			Name: "levels",
			Handle: func(ctx context.Context, tx eventual.Tx, _ projection.Tables, _ eventual.RecordedEvent) error {
				var level int
				if err := tx.QueryRow(ctx, "PRAGMA synchronous").Scan(&level); err != nil {
					return err
				}
				select {
				case levels <- level:
				default:
				}
				return nil
			},
		}
		var opts []projection.Option
		want := 1 // NORMAL
		if durable {
			opts, want = append(opts, projection.WithDurableCommits()), 2 // FULL
		}
		r := start(t, s, []projection.Projection{p}, opts...)
		waitFor(t, r, "levels", deposit(t, s, "acc", 1).LastPosition)
		if got := <-levels; got != want {
			t.Errorf("durable %v: the projection's transaction ran at synchronous %d, want %d", durable, got, want)
		}
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// Rebuild fills new tables while readers keep reading the old ones, then
// swaps: readers never see a partial table or an error.
func TestRebuildWithoutDowntime(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		for i := range 50 {
			deposit(t, s, fmt.Sprintf("acc-%d", i%10), 1, 1, 1, 1)
		}
		r := start(t, s, []projection.Projection{balances()}, projection.WithBatchSize(50, 20))
		waitFor(t, r, "balances", deposit(t, s, "acc-0", 1).LastPosition)

		stop := make(chan struct{})
		var readers sync.WaitGroup
		var reads atomic.Int64
		for range 2 {
			readers.Go(func() {
				var lastN int64
				for {
					select {
					case <-stop:
						return
					default:
					}
					var n int64
					if err := s.QueryRow(context.Background(), "SELECT COALESCE(SUM(n), 0) FROM balances").Scan(&n); err != nil {
						t.Errorf("read during rebuild: %v", err)
						return
					}
					if n < lastN || n < 201 {
						t.Errorf("a reader saw %d deposits after %d: a partial table", n, lastN)
						return
					}
					lastN = n
					reads.Add(1)
				}
			})
		}
		// Writers go on during the rebuild.
		var writers sync.WaitGroup
		var lastPos atomic.Uint64
		writers.Go(func() {
			for i := range 100 {
				res := deposit(t, s, fmt.Sprintf("acc-%d", i%10), 1)
				lastPos.Store(res.LastPosition)
			}
		})
		if err := r.Rebuild(t.Context(), "balances"); err != nil {
			t.Fatal(err)
		}
		// A second Rebuild is refused while the first runs; if the first
		// was already swapped in, it starts another one.
		generation := 2
		if err := r.Rebuild(t.Context(), "balances"); err == nil {
			generation = 3
		} else if !errors.Is(err, projection.ErrRebuilding) {
			t.Errorf("second Rebuild: %v, want ErrRebuilding (or nil if the first one already finished)", err)
		}
		eventually(t, "the rebuild is swapped in", func() bool {
			st := status(t, r, "balances")
			return st.Generation == generation && st.Rebuild == nil
		})
		writers.Wait()
		waitFor(t, r, "balances", lastPos.Load())
		close(stop)
		readers.Wait()
		var total int64
		for _, bal := range read(t, s) {
			total += bal.n
		}
		if total != 301 {
			t.Errorf("after the rebuild: %d deposits, want 301", total)
		}
		if st := status(t, r, "balances"); st.State != projection.StateRunning {
			t.Errorf("status %+v", st)
		}
		// The old generation's table is gone.
		var n int
		err := s.QueryRow(context.Background(), "SELECT COUNT(*) FROM balances__g1").Scan(&n)
		if err == nil {
			t.Error("the old generation's table still exists")
		}
		t.Logf("%d reads during the rebuild", reads.Load())
	})
}

// A new Version rebuilds at Start, and a rebuild under way survives a
// restart.
func TestVersionChangeRebuilds(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		res := deposit(t, s, "acc", 1, 2, 3)
		r := start(t, s, []projection.Projection{balances()})
		waitFor(t, r, "balances", res.LastPosition)
		_ = r.Close()

		// Version 2 counts every deposit twice; its rebuild is stopped
		// half-way by a restart.
		v2 := balances()
		v2.Version = 2
		handle := v2.Handle
		var slow atomic.Bool
		slow.Store(true)
		v2.Handle = func(ctx context.Context, tx eventual.Tx, t projection.Tables, e eventual.RecordedEvent) error {
			if slow.Load() {
				time.Sleep(2 * time.Millisecond)
			}
			if err := handle(ctx, tx, t, e); err != nil {
				return err
			}
			return handle(ctx, tx, t, e)
		}
		for i := range 200 {
			deposit(t, s, fmt.Sprintf("acc-%d", i%5), 1)
		}
		r = start(t, s, []projection.Projection{v2}, projection.WithBatchSize(10, 10))
		if st := status(t, r, "balances"); st.State != projection.StateRebuilding || st.Version != 1 || st.Rebuild == nil || st.Rebuild.Version != 2 {
			t.Fatalf("status after a version change %+v", st)
		}
		eventually(t, "the rebuild makes progress", func() bool {
			st := status(t, r, "balances")
			return st.Rebuild != nil && st.Rebuild.Checkpoint > 0
		})
		// Meanwhile, the old version serves (and follows the log).
		if got := read(t, s)["acc"]; got.n != 3 {
			t.Errorf("during the rebuild the old tables show %+v", got)
		}
		_ = r.Close()
		slow.Store(false)
		r = start(t, s, []projection.Projection{v2})
		if st := status(t, r, "balances"); st.Rebuild == nil || st.Rebuild.Checkpoint == 0 {
			t.Errorf("the rebuild did not resume from its checkpoint: %+v", st.Rebuild)
		}
		eventually(t, "the rebuild is swapped in", func() bool { return status(t, r, "balances").Version == 2 })
		if got := read(t, s)["acc"]; got.n != 6 || got.total != 12 {
			t.Errorf("after the rebuild: %+v, want version 2's doubled counts", got)
		}
	})
}

// Two runners of one projection on one database (two processes) apply
// each event once: the checkpoint is compare-and-set.
func TestTwoRunnersApplyEachEventOnce(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		s := b.New(t)
		r1 := start(t, s, []projection.Projection{balances()}, projection.WithBatchSize(3, 10))
		r2 := start(t, b.Open(t, s), []projection.Projection{balances()}, projection.WithBatchSize(5, 10))
		var last eventual.AppendResult
		for i := range 300 {
			last = deposit(t, s, fmt.Sprintf("acc-%d", i%4), 1)
		}
		waitFor(t, r1, "balances", last.LastPosition)
		waitFor(t, r2, "balances", last.LastPosition)
		for acc, bal := range read(t, s) {
			if bal.n != 75 {
				t.Errorf("%s: %d deposits, want 75", acc, bal.n)
			}
		}
	})
}

func TestBadInput(t *testing.T) {
	s := testdb.SQLite().New(t)
	ok := func(context.Context, eventual.Tx, projection.Tables, eventual.RecordedEvent) error { return nil }
	for name, p := range map[string]projection.Projection{
		"no name":         {Handle: ok},
		"bad name":        {Name: "Bad-Name", Handle: ok},
		"no handler":      {Name: "p"},
		"two handlers":    {Name: "p", Handle: ok, HandleBatch: func(context.Context, eventual.Tx, projection.Tables, []eventual.RecordedEvent) error { return nil }},
		"bad table":       {Name: "p", Handle: ok, Tables: []string{"a b"}, Setup: func(context.Context, eventual.Tx, projection.Tables) error { return nil }},
		"tables no setup": {Name: "p", Handle: ok, Tables: []string{"t"}},
		"negative":        {Name: "p", Handle: ok, Version: -1},
		"negative linger": {Name: "p", Handle: ok, Linger: -time.Second},
	} {
		r, _ := projection.NewRunner(s)
		if err := r.Add(p); !errors.Is(err, eventual.ErrInvalidArgument) {
			t.Errorf("%s: Add = %v, want ErrInvalidArgument", name, err)
		}
	}
	for name, o := range map[string]projection.Option{
		"batch":  projection.WithBatchSize(0, 10),
		"retry":  projection.WithRetry(0, nil),
		"poll":   projection.WithPoll(0),
		"logger": projection.WithLogger(nil),
	} {
		if _, err := projection.NewRunner(s, o); !errors.Is(err, projection.ErrInvalidOption) {
			t.Errorf("%s: NewRunner = %v, want ErrInvalidOption", name, err)
		}
	}
	r, _ := projection.NewRunner(s)
	_ = r.Add(projection.Projection{Name: "p", Handle: ok})
	if err := r.Add(projection.Projection{Name: "p", Handle: ok}); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("a name twice: %v", err)
	}
	if err := r.WaitFor(t.Context(), "p", 1); !errors.Is(err, projection.ErrNotRunning) {
		t.Errorf("WaitFor before Start: %v, want ErrNotRunning", err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.WaitFor(t.Context(), "nope", 1); !errors.Is(err, projection.ErrUnknown) {
		t.Errorf("WaitFor of an unknown projection: %v, want ErrUnknown", err)
	}
	if err := r.Rebuild(t.Context(), "p"); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("Rebuild without tables: %v, want ErrInvalidArgument", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := r.WaitFor(ctx, "p", 1000); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor of a position never reached: %v, want deadline exceeded", err)
	}
}
