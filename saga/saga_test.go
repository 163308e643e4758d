package saga_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/saga"
	"github.com/eventual-go/eventual/saga/sagatest"
	"github.com/eventual-go/eventual/transport"
)

// order is the data of the test saga.
type order struct {
	ID        string `json:"id"`
	Amount    int    `json:"amount"`
	Reserved  bool   `json:"reserved"`
	PaymentID string `json:"payment_id"`
	Reason    string `json:"reason"`
	FailLocal bool   `json:"fail_local"`
}

func command(subject, typ string) saga.CommandFunc[order] {
	return func(_ context.Context, o *order) (transport.Message, error) {
		return transport.NewMessage(subject, typ, []byte(o.ID)), nil
	}
}

// fulfillment is the test saga: reserve stock → authorize payment →
// record (local) → ship → confirm.
func fulfillment(t testing.TB) *saga.Definition[order] {
	return fulfillmentTimed(t, 30*time.Second, 2, 10*time.Second)
}

// fulfillmentTimed is fulfillment with the payment step's timeout, attempts
// and backoff.
func fulfillmentTimed(t testing.TB, timeout time.Duration, attempts int, backoff time.Duration) *saga.Definition[order] {
	t.Helper()
	bo := func(int) time.Duration { return backoff }
	def, err := saga.Define[order]("fulfillment").
		Step("reserve-stock").
		Command(command("inventory.commands", "inventory.reserve")).
		OnReply("inventory.reserved", func(_ context.Context, o *order, _ transport.Delivery) error { o.Reserved = true; return nil }).
		OnFailure("inventory.out_of_stock", func(_ context.Context, o *order, r transport.Delivery) error { o.Reason = "out of stock"; return nil }).
		Compensate(command("inventory.commands", "inventory.release")).
		OnCompensationReply("inventory.released", func(_ context.Context, o *order, _ transport.Delivery) error { o.Reserved = false; return nil }).
		Timeout(timeout).Retry(attempts, bo).
		Step("authorize-payment").
		Command(command("payments.commands", "payments.authorize")).
		OnReply("payments.authorized", func(_ context.Context, o *order, r transport.Delivery) error {
			o.PaymentID = string(r.Data)
			return nil
		}).
		OnFailure("payments.declined", func(_ context.Context, o *order, _ transport.Delivery) error { o.Reason = "declined"; return nil }).
		Compensate(command("payments.commands", "payments.void")).
		OnCompensationReply("payments.voided", nil).
		OnCompensationFailure("payments.void_failed", nil).
		Timeout(timeout).Retry(attempts, bo).
		Step("record").
		Local(func(ctx context.Context, tx eventual.Tx, o *order) error {
			if _, err := tx.Exec(ctx, "INSERT INTO order_log (id) VALUES ($1)", o.ID); err != nil {
				return err
			}
			if o.FailLocal {
				return saga.Fail(errors.New("the ledger refuses"))
			}
			return nil
		}).
		Step("ship").
		Command(command("shipping.commands", "shipping.create")).
		OnReply("shipping.created", nil).
		OnFailure("shipping.unavailable", nil).
		Compensate(command("shipping.commands", "shipping.cancel")).
		OnCompensationReply("shipping.cancelled", nil).
		Timeout(timeout).Retry(attempts, bo).
		Step("confirm").
		Command(command("ordering.commands", "ordering.confirm")).
		OnReply("ordering.confirmed", nil).
		Timeout(timeout).Retry(attempts, bo).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	return def
}

func harness(t *testing.T) *sagatest.Harness[order] {
	h := sagatest.New(t, fulfillment(t))
	err := h.Store().InTx(context.Background(), func(tx eventual.Tx) error {
		_, err := tx.Exec(context.Background(), "CREATE TABLE order_log (id TEXT NOT NULL)")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func logged(t *testing.T, h *sagatest.Harness[order], id string) int {
	t.Helper()
	var n int
	if err := h.Store().QueryRow(context.Background(), "SELECT COUNT(*) FROM order_log WHERE id = $1", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHappyPath(t *testing.T) {
	h := harness(t)
	h.Start("o-1", order{ID: "o-1", Amount: 4200})
	cmd := h.ExpectCommand("inventory.reserve")
	if cmd.ReplyTo != "saga.fulfillment.replies" || cmd.Key != "o-1" || cmd.Metadata.Extra[saga.ExtraSagaID] != "o-1" ||
		cmd.Metadata.Extra[saga.ExtraStep] != "reserve-stock" || cmd.Metadata.Extra[saga.ExtraStepKey] == "" {
		t.Errorf("command %+v", cmd)
	}
	h.Reply(cmd, "inventory.reserved", nil)
	h.Reply(h.ExpectCommand("payments.authorize"), "payments.authorized", []byte("pay-9"))
	h.Reply(h.ExpectCommand("shipping.create"), "shipping.created", nil) // the local step ran in between
	h.Reply(h.ExpectCommand("ordering.confirm"), "ordering.confirmed", nil)
	in := h.ExpectStatus("o-1", saga.StatusDone)
	if !in.Data.Reserved || in.Data.PaymentID != "pay-9" || in.Due != (time.Time{}) || in.Awaiting {
		t.Errorf("instance %+v", in)
	}
	if n := logged(t, h, "o-1"); n != 1 {
		t.Errorf("the local step wrote %d rows, want 1", n)
	}
	h.ExpectNoCommand()
	hist := h.History("o-1")
	if hist[0] != saga.EventStarted || hist[len(hist)-1] != saga.EventDone {
		t.Errorf("history %v", hist)
	}
	if n := count(hist, saga.EventStepCompleted); n != 5 {
		t.Errorf("%d steps completed in the history, want 5: %v", n, hist)
	}
	// One history event per transaction: the start, and each of the four
	// replies (with the step's completion and the next command in it).
	if info, err := h.Store().StreamInfo(context.Background(), saga.StreamID("fulfillment", "o-1")); err != nil || info.Version != 5 {
		t.Errorf("history stream at version %d (%v), want 5 events for %d entries", info.Version, err, len(hist))
	}
}

func count(hist []string, typ string) int {
	n := 0
	for _, h := range hist {
		if h == typ {
			n++
		}
	}
	return n
}

// Each step failing compensates exactly the steps before it, last first.
func TestFailureAtEachStep(t *testing.T) {
	for _, tt := range []struct {
		name          string
		failAt        string // the command whose reply fails
		failReply     string
		failLocal     bool
		compensations []string
		reason        string
	}{
		{name: "out of stock", failAt: "inventory.reserve", failReply: "inventory.out_of_stock", reason: "out of stock"},
		{name: "payment declined", failAt: "payments.authorize", failReply: "payments.declined",
			compensations: []string{"inventory.release"}, reason: "declined"},
		{name: "local step fails", failLocal: true,
			compensations: []string{"payments.void", "inventory.release"}},
		{name: "shipping unavailable", failAt: "shipping.create", failReply: "shipping.unavailable",
			compensations: []string{"payments.void", "inventory.release"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := harness(t)
			h.Start("o-1", order{ID: "o-1", FailLocal: tt.failLocal})
			steps := []struct{ cmd, ok string }{
				{"inventory.reserve", "inventory.reserved"},
				{"payments.authorize", "payments.authorized"},
				{"shipping.create", "shipping.created"},
			}
			for _, s := range steps {
				if tt.failLocal && s.cmd == "shipping.create" {
					break
				}
				cmd := h.ExpectCommand(s.cmd)
				if s.cmd == tt.failAt {
					h.Reply(cmd, tt.failReply, nil)
					break
				}
				h.Reply(cmd, s.ok, nil)
			}
			replies := map[string]string{"inventory.release": "inventory.released", "payments.void": "payments.voided"}
			for _, c := range tt.compensations {
				h.ExpectStatus("o-1", saga.StatusCompensating)
				h.Reply(h.ExpectCommand(c), replies[c], nil)
			}
			h.ExpectNoCommand()
			in := h.ExpectStatus("o-1", saga.StatusFailed)
			if in.Data.Reserved || (tt.reason != "" && in.Data.Reason != tt.reason) || in.Error == "" {
				t.Errorf("instance %+v", in)
			}
			if n := logged(t, h, "o-1"); tt.failLocal && n != 0 {
				t.Errorf("the failed local step left %d rows", n)
			}
		})
	}
}

// A step whose reply does not come is tried again after its backoff; when
// no attempt is answered, it may have taken effect, so it is compensated
// too, before the steps ahead of it.
func TestStepTimeout(t *testing.T) {
	h := harness(t)
	h.Start("o-1", order{ID: "o-1"})
	h.Reply(h.ExpectCommand("inventory.reserve"), "inventory.reserved", nil)
	first := h.ExpectCommand("payments.authorize")
	h.Advance(29 * time.Second)
	h.ExpectNoCommand()
	h.Advance(time.Second) // timed out: next attempt after 10 s
	h.ExpectStatus("o-1", saga.StatusRunning)
	h.ExpectNoCommand()
	h.Advance(10 * time.Second)
	second := h.ExpectCommand("payments.authorize")
	if second.ID == first.ID || saga.StepKey(transport.Delivery{Message: second}) != saga.StepKey(transport.Delivery{Message: first}) {
		t.Errorf("attempts %s and %s: want new IDs with one step key", first.ID, second.ID)
	}
	h.Advance(30 * time.Second) // the last attempt times out
	h.ExpectStatus("o-1", saga.StatusCompensating)
	h.Reply(h.ExpectCommand("payments.void"), "payments.voided", nil)
	h.Reply(h.ExpectCommand("inventory.release"), "inventory.released", nil)
	in := h.ExpectStatus("o-1", saga.StatusFailed)
	if !strings.Contains(in.Error, "no reply") {
		t.Errorf("error %q", in.Error)
	}
	hist := h.History("o-1")
	if count(hist, saga.EventTimedOut) != 2 || count(hist, saga.EventAttemptFailed) != 1 {
		t.Errorf("history %v", hist)
	}
}

// A reply to an earlier attempt of the step in progress counts; a reply
// that comes again, or for a step that is over, is ignored.
func TestLateAndDuplicateReplies(t *testing.T) {
	h := harness(t)
	h.Start("o-1", order{ID: "o-1"})
	reserve := h.ExpectCommand("inventory.reserve")
	r := h.Reply(reserve, "inventory.reserved", nil)
	h.Deliver(r) // the same reply again
	first := h.ExpectCommand("payments.authorize")
	h.Advance(30 * time.Second)
	h.Advance(10 * time.Second)
	h.ExpectCommand("payments.authorize")
	h.Reply(first, "payments.authorized", []byte("pay-1")) // the first attempt's answer
	h.Reply(first, "payments.authorized", []byte("pay-2")) // again: ignored
	h.Reply(reserve, "inventory.out_of_stock", nil)        // for a step that is over: ignored
	h.ExpectCommand("shipping.create")
	h.ExpectNoCommand()
	in := h.ExpectStatus("o-1", saga.StatusRunning)
	if in.Data.PaymentID != "pay-1" || in.StepName != "ship" {
		t.Errorf("instance %+v", in)
	}
	if n := count(h.History("o-1"), saga.EventReplyReceived); n != 2 {
		t.Errorf("%d replies consumed, want 2", n)
	}
	// A reply of a type the step does not declare is not consumed.
	h.Reply(h.Commands()[len(h.Commands())-1], "shipping.unknown", nil)
	h.ExpectStatus("o-1", saga.StatusRunning)
}

// A compensation that fails leaves the saga stuck, never done; a person
// retries or skips it.
func TestStuckAndRepairs(t *testing.T) {
	h := harness(t)
	h.Start("o-1", order{ID: "o-1"})
	h.Reply(h.ExpectCommand("inventory.reserve"), "inventory.reserved", nil)
	h.Reply(h.ExpectCommand("payments.authorize"), "payments.authorized", nil)
	h.Reply(h.ExpectCommand("shipping.create"), "shipping.unavailable", nil)
	h.Reply(h.ExpectCommand("payments.void"), "payments.void_failed", nil)
	in := h.ExpectStatus("o-1", saga.StatusStuck)
	if in.StepName != "authorize-payment" || !strings.Contains(in.Error, "void_failed") {
		t.Errorf("stuck instance %+v", in)
	}
	h.Advance(time.Hour)
	h.ExpectNoCommand() // stuck means stuck: no timer
	h.Repair("o-1", saga.RepairRetry)
	h.Reply(h.ExpectCommand("payments.void"), "payments.void_failed", nil)
	h.ExpectStatus("o-1", saga.StatusStuck)
	h.Repair("o-1", saga.RepairSkip) // voided by hand
	h.Reply(h.ExpectCommand("inventory.release"), "inventory.released", nil)
	h.ExpectStatus("o-1", saga.StatusFailed)
	if err := h.Orchestrator().Repair(context.Background(), "o-1", saga.RepairRetry, ""); !errors.Is(err, saga.ErrFinished) {
		t.Errorf("repair of a failed saga: %v, want ErrFinished", err)
	}
	if err := h.Orchestrator().Repair(context.Background(), "nope", saga.RepairRetry, ""); !errors.Is(err, saga.ErrNotFound) {
		t.Errorf("repair of an unknown saga: %v, want ErrNotFound", err)
	}
	if n := count(h.History("o-1"), saga.EventRepaired); n != 2 {
		t.Errorf("%d repairs in the history", n)
	}
}

func TestForceCompensationAndAbort(t *testing.T) {
	h := harness(t)
	h.Start("o-1", order{ID: "o-1"})
	h.Reply(h.ExpectCommand("inventory.reserve"), "inventory.reserved", nil)
	h.ExpectCommand("payments.authorize")
	h.Repair("o-1", saga.RepairCompensate)
	// The payment was asked for: it is voided too.
	h.Reply(h.ExpectCommand("payments.void"), "payments.voided", nil)
	h.Reply(h.ExpectCommand("inventory.release"), "inventory.released", nil)
	h.ExpectStatus("o-1", saga.StatusFailed)

	h.Start("o-2", order{ID: "o-2"})
	h.ExpectCommand("inventory.reserve")
	h.Repair("o-2", saga.RepairAbort)
	in := h.ExpectStatus("o-2", saga.StatusFailed)
	if !strings.HasPrefix(in.Error, "aborted") {
		t.Errorf("error %q", in.Error)
	}
	h.Advance(time.Hour)
	h.ExpectNoCommand()
}

func TestStartIsIdempotentAndQueries(t *testing.T) {
	h := harness(t)
	ctx := context.Background()
	o := h.Orchestrator()
	h.Start("o-1", order{ID: "o-1"})
	started, err := o.Start(ctx, "o-1", order{ID: "other"})
	if err != nil || started {
		t.Fatalf("second start: %v, %v", started, err)
	}
	h.ExpectCommand("inventory.reserve")
	h.ExpectNoCommand()
	if _, err := o.Start(ctx, "bad id", order{}); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("bad ID: %v", err)
	}
	h.Start("o-2", order{ID: "o-2"})
	h.Repair("o-2", saga.RepairAbort)
	running, err := o.List(ctx, saga.ListOptions{Status: saga.StatusRunning})
	if err != nil || len(running) != 1 || running[0].ID != "o-1" {
		t.Errorf("running: %+v, %v", running, err)
	}
	all, err := o.List(ctx, saga.ListOptions{Limit: 1})
	if err != nil || len(all) != 1 {
		t.Fatalf("list: %+v, %v", all, err)
	}
	next, err := o.List(ctx, saga.ListOptions{After: all[0].ID})
	if err != nil || len(next) != 1 || next[0].ID != "o-2" {
		t.Errorf("next page: %+v, %v", next, err)
	}
	counts, err := o.Counts(ctx)
	if err != nil || counts[saga.StatusRunning] != 1 || counts[saga.StatusFailed] != 1 {
		t.Errorf("counts %v, %v", counts, err)
	}
	if _, err := o.Get(ctx, "nope"); !errors.Is(err, saga.ErrNotFound) {
		t.Errorf("Get of an unknown instance: %v", err)
	}
	hist, err := o.History(ctx, "o-1")
	if err != nil || len(hist) != 2 || hist[1].Type != saga.EventCommandSent || hist[1].StepName != "reserve-stock" {
		t.Fatalf("history %+v, %v", hist, err)
	}
	var data order
	if err := json.Unmarshal(hist[0].Data, &data); err != nil || data.ID != "o-1" {
		t.Errorf("history data %s, %v", hist[0].Data, err)
	}
}

func TestBadDefinitions(t *testing.T) {
	cmd := command("a.b", "x")
	for name, b := range map[string]*saga.Builder[order]{
		"no steps":           saga.Define[order]("s"),
		"bad name":           saga.Define[order]("Bad Name"),
		"no action":          withStep(saga.Define[order]("s"), func(s *saga.StepBuilder[order]) {}),
		"command no reply":   withStep(saga.Define[order]("s"), func(s *saga.StepBuilder[order]) { s.Command(cmd) }),
		"local with replies": withStep(saga.Define[order]("s"), func(s *saga.StepBuilder[order]) { s.Local(nil).OnReply("r", nil) }),
		"both": withStep(saga.Define[order]("s"), func(s *saga.StepBuilder[order]) {
			s.Command(cmd).OnReply("r", nil).Local(func(context.Context, eventual.Tx, *order) error { return nil })
		}),
		"success and failure": withStep(saga.Define[order]("s"), func(s *saga.StepBuilder[order]) { s.Command(cmd).OnReply("r", nil).OnFailure("r", nil) }),
		"zero timeout":        withStep(saga.Define[order]("s"), func(s *saga.StepBuilder[order]) { s.Command(cmd).OnReply("r", nil).Timeout(0) }),
		"bad reply subject":   saga.Define[order]("s").ReplySubject("a..b"),
	} {
		if _, err := b.Build(); !errors.Is(err, saga.ErrInvalidDefinition) {
			t.Errorf("%s: Build = %v, want ErrInvalidDefinition", name, err)
		}
	}
	b := saga.Define[order]("s")
	b.Step("a").Local(func(context.Context, eventual.Tx, *order) error { return nil })
	b.Step("a").Local(func(context.Context, eventual.Tx, *order) error { return nil })
	if _, err := b.Build(); !errors.Is(err, saga.ErrInvalidDefinition) || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a step twice: %v", err)
	}
	def := fulfillment(t)
	if got := def.Steps(); !slices.Equal(got, []string{"reserve-stock", "authorize-payment", "record", "ship", "confirm"}) {
		t.Errorf("steps %v", got)
	}
}

func withStep(b *saga.Builder[order], f func(*saga.StepBuilder[order])) *saga.Builder[order] {
	f(b.Step("only"))
	return b
}

func ExampleDefine() {
	type data struct{ OrderID string }
	def, err := saga.Define[data]("checkout").
		Step("reserve").
		Command(func(_ context.Context, d *data) (transport.Message, error) {
			return transport.NewMessage("inventory.commands", "inventory.reserve", []byte(d.OrderID)), nil
		}).
		OnReply("inventory.reserved", nil).
		OnFailure("inventory.out_of_stock", nil).
		Compensate(func(_ context.Context, d *data) (transport.Message, error) {
			return transport.NewMessage("inventory.commands", "inventory.release", []byte(d.OrderID)), nil
		}).
		OnCompensationReply("inventory.released", nil).
		Timeout(10 * time.Second).
		Step("confirm").
		Local(func(ctx context.Context, tx eventual.Tx, d *data) error {
			_, err := tx.Exec(ctx, "UPDATE orders SET status = 'confirmed' WHERE id = $1", d.OrderID)
			return err
		}).
		Build()
	fmt.Println(def.Steps(), err)
	// Output: [reserve confirm] <nil>
}

// A handler that changes data and then fails leaves no change behind,
// even through a map.
func TestFailingHandlerLeavesDataAlone(t *testing.T) {
	type tagged struct{ Tags map[string]string }
	def, err := saga.Define[tagged]("tagging").
		Step("tag").
		Command(func(_ context.Context, d *tagged) (transport.Message, error) {
			return transport.NewMessage("tags.commands", "tags.add", nil), nil
		}).
		OnReply("tags.added", func(_ context.Context, d *tagged, _ transport.Delivery) error {
			d.Tags["oops"] = "half-done"
			return errors.New("refused")
		}).
		Compensate(func(_ context.Context, d *tagged) (transport.Message, error) {
			return transport.NewMessage("tags.commands", "tags.remove", nil), nil
		}).
		OnCompensationReply("tags.removed", nil).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	h := sagatest.New(t, def)
	h.Start("t-1", tagged{Tags: map[string]string{"kept": "yes"}})
	h.Reply(h.ExpectCommand("tags.add"), "tags.added", nil)
	// The step took effect but its reply was refused: it is compensated.
	h.Reply(h.ExpectCommand("tags.remove"), "tags.removed", nil)
	in := h.ExpectStatus("t-1", saga.StatusFailed)
	if len(in.Data.Tags) != 1 || in.Data.Tags["kept"] != "yes" {
		t.Errorf("data after the failing handler: %v", in.Data.Tags)
	}
}
