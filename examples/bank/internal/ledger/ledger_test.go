package ledger_test

import (
	"context"
	"errors"
	"iter"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/examples/bank/internal/account"
	"github.com/eventual-go/eventual/examples/bank/internal/ledger"
	"github.com/eventual-go/eventual/store/memory"
	"github.com/eventual-go/eventual/store/sqlite"
)

// clock is a settable clock shared by the store and the service.
type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Unix(0, c.now.Load()).UTC() }
func (c *clock) Set(t time.Time)     { c.now.Store(t.UnixNano()) }
func (c *clock) Add(d time.Duration) { c.now.Add(int64(d)) }
func newClock(t time.Time) *clock    { c := &clock{}; c.Set(t); return c }
func eur(s string) account.Money     { return account.MustMoney(s, "EUR") }
func at(day, hour int) time.Time     { return time.Date(2030, 1, day, hour, 0, 0, 0, time.UTC) }

func TestHistoryBalancesStatementAudit(t *testing.T) {
	clk := newClock(at(1, 9))
	store, err := memory.New(memory.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := ledger.New(store, ledger.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := eventual.ContextWithMetadata(t.Context(), eventual.Metadata{UserID: "teller-7"})
	terms := account.Terms{MinimumOpeningDeposit: 1000, OverdraftLimit: 10000, DailyWithdrawalLimit: 50000}
	step := func(day, hour int, f func() (ledger.Summary, error)) ledger.Summary {
		t.Helper()
		clk.Set(at(day, hour))
		s, err := f()
		if err != nil {
			t.Fatalf("day %d %d:00: %v", day, hour, err)
		}
		return s
	}
	step(1, 9, func() (ledger.Summary, error) { return svc.Open(ctx, "acc-1", "Ada Lovelace", "100.00", "EUR", &terms) }) // v1, v2
	step(2, 10, func() (ledger.Summary, error) { return svc.Deposit(ctx, "acc-1", "50", "salary") })                      // v3
	step(3, 11, func() (ledger.Summary, error) { return svc.Withdraw(ctx, "acc-1", "180", "rent") })                      // v4, v5 overdraft
	step(4, 12, func() (ledger.Summary, error) { return svc.ChargeFee(ctx, "acc-1", "5", "overdraft fee") })              // v6
	step(5, 13, func() (ledger.Summary, error) { return svc.Deposit(ctx, "acc-1", "135", "") })                           // v7
	step(6, 14, func() (ledger.Summary, error) { return svc.ApplyInterest(ctx, "acc-1", 200) })                           // v8: 100 × 2 % = 2
	now := step(7, 15, func() (ledger.Summary, error) { return svc.Suspend(ctx, "acc-1", "identity check") })             // v9

	if now.Balance != eur("102") || now.Status != account.StatusSuspended || now.Version != 9 {
		t.Fatalf("now: %+v", now)
	}
	if _, err := svc.Withdraw(ctx, "acc-1", "1", ""); !errors.Is(err, account.ErrSuspended) {
		t.Fatalf("withdrawal from a suspended account: %v", err)
	}

	for _, tt := range []struct {
		at   time.Time
		want string
	}{{at(1, 9), "100"}, {at(2, 23), "150"}, {at(3, 11), "-30"}, {at(4, 12), "-35"}, {at(6, 13), "100"}, {at(8, 0), "102"}} {
		s, err := svc.BalanceAt(ctx, "acc-1", tt.at)
		if err != nil || s.Balance != eur(tt.want) {
			t.Errorf("balance at %s = %s, %v; want %s", tt.at.Format(time.DateTime), s.Balance, err, tt.want)
		}
	}
	if _, err := svc.BalanceAt(ctx, "acc-1", at(1, 8)); !errors.Is(err, aggregate.ErrNotFound) {
		t.Errorf("balance before the opening: %v", err)
	}
	if s, err := svc.BalanceAtVersion(ctx, "acc-1", 5); err != nil || s.Balance != eur("-30") {
		t.Errorf("balance at version 5 = %s, %v", s.Balance, err)
	}

	st, err := svc.Statement(ctx, "acc-1", at(3, 0), at(6, 0))
	if err != nil {
		t.Fatal(err)
	}
	if st.Opening != eur("150") || st.Closing != eur("100") || st.Status != account.StatusOpen || st.Holder != "Ada Lovelace" {
		t.Fatalf("statement: opening %s closing %s status %s", st.Opening, st.Closing, st.Status)
	}
	wantLines := []struct {
		what    string
		amount  string
		balance string
	}{{"withdrawal", "-180", "-30"}, {"overdraft", "0", "-30"}, {"fee", "-5", "-35"}, {"deposit", "135", "100"}}
	if len(st.Lines) != len(wantLines) {
		t.Fatalf("statement has %d lines: %+v", len(st.Lines), st.Lines)
	}
	for i, w := range wantLines {
		l := st.Lines[i]
		if l.What != w.what || l.Amount != eur(w.amount) || l.Balance != eur(w.balance) {
			t.Errorf("line %d = %s %s → %s, want %s %s → %s", i, l.What, l.Amount, l.Balance, w.what, w.amount, w.balance)
		}
	}
	if full, _ := svc.Statement(ctx, "acc-1", time.Time{}, time.Time{}); len(full.Lines) != 9 || full.Opening != eur("0") || full.Status != account.StatusSuspended {
		t.Errorf("full statement: %d lines, opening %s, status %s", len(full.Lines), full.Opening, full.Status)
	}
	if _, err := svc.Statement(ctx, "acc-1", at(5, 0), at(4, 0)); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("backwards period: %v", err)
	}

	audit, err := svc.Audit(ctx, "acc-1")
	if err != nil || len(audit) != 9 {
		t.Fatalf("audit: %d entries, %v", len(audit), err)
	}
	if a := audit[3]; a.Type != "bank.money_withdrawn" || a.User != "teller-7" || a.CorrelationID == "" || !a.RecordedAt.Equal(at(3, 11)) {
		t.Errorf("audit entry = %+v", a)
	}
	if audit[3].CorrelationID != audit[4].CorrelationID {
		t.Error("the withdrawal and its overdraft do not share a correlation ID")
	}
	if _, err := svc.Audit(ctx, "nope"); !errors.Is(err, aggregate.ErrNotFound) {
		t.Errorf("audit of a missing account: %v", err)
	}

	if _, err := svc.Open(ctx, "acc-1", "Ada", "100", "EUR", nil); !errors.Is(err, account.ErrAlreadyOpen) {
		t.Errorf("opening twice: %v", err)
	}
	if _, err := svc.Deposit(ctx, "acc-1", "1.001", ""); !errors.Is(err, account.ErrBadAmount) {
		t.Errorf("bad amount: %v", err)
	}
}

// counting counts the events ReadStream returns.
type counting struct {
	*sqlite.Store
	read atomic.Int64
}

func (c *counting) ReadStream(ctx context.Context, id string, o eventual.ReadStreamOptions) iter.Seq2[eventual.RecordedEvent, error] {
	return func(yield func(eventual.RecordedEvent, error) bool) {
		for e, err := range c.Store.ReadStream(ctx, id, o) {
			c.read.Add(1)
			if !yield(e, err) {
				return
			}
		}
	}
}

// TestHundredThousandEventsWithSnapshots writes 100,000 events to one
// account in SQLite and shows what snapshots change: loading reads the
// snapshot and fewer than 1,000 events instead of all 100,000, and gives
// the same balance.
func TestHundredThousandEventsWithSnapshots(t *testing.T) {
	const events = 100_000
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "bank.db"), sqlite.WithSynchronous(sqlite.SyncNormal))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c := &counting{Store: store}
	svc, err := ledger.New(c, ledger.WithSnapshotEvery(1000))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	terms := account.Terms{MinimumOpeningDeposit: 1}
	if _, err := svc.Open(ctx, "big", "Grace Hopper", "1.00", "EUR", &terms); err != nil {
		t.Fatal(err)
	}
	repo := svc.Accounts()
	a, err := repo.Load(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for a.Version() < events {
		for range min(500, events-a.Version()) {
			if err := a.Deposit(eur("0.01"), "", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if err := repo.Save(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d events in %v", a.Version(), time.Since(start).Round(time.Millisecond))
	want := eur("1.00")
	want.Minor += events - 2

	c.read.Store(0)
	start = time.Now()
	withSnap, err := repo.Load(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	tookSnap, readSnap := time.Since(start), c.read.Load()
	snap, err := store.LoadSnapshot(ctx, repo.StreamID("big"))
	if err != nil {
		t.Fatal(err)
	}

	plain, err := ledger.New(c, ledger.WithSnapshotEvery(0))
	if err != nil {
		t.Fatal(err)
	}
	c.read.Store(0)
	start = time.Now()
	full, err := plain.Accounts().Load(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	tookFull, readFull := time.Since(start), c.read.Load()
	t.Logf("load with a snapshot at version %d: %d events read in %v; without: %d events in %v",
		snap.Version, readSnap, tookSnap.Round(time.Microsecond), readFull, tookFull.Round(time.Microsecond))

	if withSnap.Balance() != want || full.Balance() != want || withSnap.Version() != events || full.Version() != events {
		t.Fatalf("balances %s (snapshot) and %s (replay), want %s at version %d", withSnap.Balance(), full.Balance(), want, events)
	}
	if readSnap >= 1000 || readFull != events {
		t.Fatalf("events read: %d with a snapshot (want < 1,000), %d without (want %d)", readSnap, readFull, events)
	}
}
