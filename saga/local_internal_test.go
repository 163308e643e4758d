package saga

import (
	"context"
	"errors"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/transport"
)

type ledger struct {
	ID   string `json:"id"`
	Fail bool   `json:"fail"`
}

// The loop runs a batch's local functions without savepoints (each one
// cost two statements, and on SQLite split the batch's inserts); when one
// fails, the batch runs again with a savepoint around each, so that the
// failing function's writes roll back alone and its saga compensates,
// while the others' are committed once.
func TestLocalFunctionsRunWithoutSavepointsUnlessOneFails(t *testing.T) {
	ctx := context.Background()
	st := openTestStore(t, "CREATE TABLE ledger (id TEXT NOT NULL)")
	def, err := Define[ledger]("ledger").
		Step("write").
		Local(func(ctx context.Context, tx eventual.Tx, d *ledger) error {
			if _, err := tx.Exec(ctx, "INSERT INTO ledger (id) VALUES ($1)", d.ID); err != nil {
				return err
			}
			if d.Fail {
				return Fail(errors.New("the ledger refuses"))
			}
			return nil
		}).
		Step("wait").
		Command(func(context.Context, *ledger) (transport.Message, error) {
			return transport.NewMessage("x.commands", "x.do", []byte("x")), nil
		}).
		OnReply("x.done", nil).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	o := newTestOrchestrator(t, st, def)
	savepoints := 0
	onLocalSavepoint = func() { savepoints++ }
	defer func() { onLocalSavepoint = nil }()
	start := func(id string, fail bool) *item[ledger] {
		return &item[ledger]{kind: kindStart, id: id, data: ledger{ID: id, Fail: fail}, done: make(chan error, 1)}
	}
	rows := func(id string) (n int) {
		if err := st.QueryRow(ctx, "SELECT COUNT(*) FROM ledger WHERE id = $1", id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	a, b := start("a", false), start("b", false)
	o.process(ctx, []*item[ledger]{a, b})
	for _, it := range []*item[ledger]{a, b} {
		if err := <-it.done; err != nil || !it.started {
			t.Fatalf("start %s: started %v, %v", it.id, it.started, err)
		}
		if n := rows(it.id); n != 1 {
			t.Errorf("%s: %d ledger rows, want 1", it.id, n)
		}
	}
	if savepoints != 0 {
		t.Errorf("%d savepoints for local functions that succeeded, want none", savepoints)
	}

	good, bad := start("good", false), start("bad", true)
	o.process(ctx, []*item[ledger]{good, bad})
	for _, it := range []*item[ledger]{good, bad} {
		if err := <-it.done; err != nil || !it.started {
			t.Fatalf("start %s: started %v, %v", it.id, it.started, err)
		}
	}
	if savepoints == 0 {
		t.Error("a local function failed and no savepoint was taken on the second run")
	}
	if n := rows("good"); n != 1 {
		t.Errorf("good: %d ledger rows, want 1 (committed once)", n)
	}
	if n := rows("bad"); n != 0 {
		t.Errorf("bad: the failed local function left %d rows", n)
	}
	in, err := o.Get(ctx, "bad")
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != StatusFailed || in.Error == "" {
		t.Errorf("bad: status %s, error %q; want failed with the reason", in.Status, in.Error)
	}
	in, err = o.Get(ctx, "good")
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != StatusRunning || in.Step != 1 {
		t.Errorf("good: status %s at step %d; want running at step 1", in.Status, in.Step)
	}
}
