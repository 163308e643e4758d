package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/eventual-go/eventual/aggregate/aggregatetest"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/domain"
)

var (
	now     = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	later   = now.Add(time.Hour)
	address = kernel.Address{Name: "Ada", Street: "1 rue de Rivoli", City: "Paris", PostalCode: "75001", Country: "FR"}
)

func priced(t *testing.T) domain.Priced {
	t.Helper()
	p, err := domain.DefaultPricing().Price([]domain.Item{item("a", 2, 1500, "EUR"), item("b", 10, 100, "EUR")}, "SAVE10", "FR")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func placed(t *testing.T) domain.OrderPlaced {
	p := priced(t)
	return domain.OrderPlaced{CustomerID: "c-1", Lines: p.Lines, Totals: p.Totals, DiscountCode: "SAVE10",
		ShippingAddress: address, PaymentToken: "tok", PlacedAt: now}
}

func TestPlace(t *testing.T) {
	aggregatetest.Given(t, domain.NewOrder("o-1")).
		When(func(o *domain.Order) error { return o.Place(" c-1 ", priced(t), address, " tok ", now) }).
		Then(placed(t)).
		ThenState(func(t testing.TB, o *domain.Order) {
			if o.Status != api.StatusPlaced || o.Totals.Total.Minor != 5950 || o.PlacedAt != now {
				t.Errorf("state %+v", o.OrderState)
			}
			e := o.Placed()
			if e.OrderID != "o-1" || len(e.Lines) != 2 || e.Lines[0].StoreID != "s-1" || e.Lines[1].UnitPrice.Minor != 100 ||
				e.Total != o.Totals.Total || e.ShippingAddress != address || e.PaymentToken != "tok" || !e.PlacedAt.Equal(now) {
				t.Errorf("integration event %+v", e)
			}
		})
}

func TestPlaceRules(t *testing.T) {
	inconsistent := priced(t)
	inconsistent.Totals.Total.Minor++
	mixed := priced(t)
	mixed.Lines = append([]domain.Line(nil), mixed.Lines...)
	mixed.Lines[0].UnitPrice.Currency, mixed.Lines[0].Total.Currency = "USD", "USD"
	zero := priced(t)
	zero.Lines = append([]domain.Line(nil), zero.Lines...)
	zero.Lines[0].Quantity, zero.Lines[0].Total.Minor = 0, 0
	noAddress := address
	noAddress.City = ""
	tests := []struct {
		name     string
		customer string
		priced   domain.Priced
		address  kernel.Address
		token    string
		err      error
	}{
		{"no customer", " ", priced(t), address, "tok", domain.ErrInvalidCustomer},
		{"bad address", "c-1", priced(t), noAddress, "tok", kernel.ErrInvalidAddress},
		{"no payment token", "c-1", priced(t), address, "", domain.ErrInvalidPaymentToken},
		{"no lines", "c-1", domain.Priced{Totals: priced(t).Totals}, address, "tok", domain.ErrNoLines},
		{"zero quantity", "c-1", zero, address, "tok", domain.ErrInvalidQuantity},
		{"two currencies", "c-1", mixed, address, "tok", domain.ErrMixedCurrencies},
		{"totals do not add up", "c-1", inconsistent, address, "tok", domain.ErrInconsistentTotals},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aggregatetest.Given(t, domain.NewOrder("o-1")).
				When(func(o *domain.Order) error { return o.Place(tt.customer, tt.priced, tt.address, tt.token, now) }).
				ThenError(tt.err)
		})
	}
	t.Run("twice", func(t *testing.T) {
		aggregatetest.Given(t, domain.NewOrder("o-1"), placed(t)).
			When(func(o *domain.Order) error { return o.Place("c-1", priced(t), address, "tok", now) }).
			ThenError(domain.ErrAlreadyPlaced)
	})
}

// history returns the events that bring an order to status.
func history(t *testing.T, status string) []any {
	p := placed(t)
	switch status {
	case api.StatusDraft:
		return nil
	case api.StatusPlaced:
		return []any{p}
	case api.StatusConfirmed:
		return []any{p, domain.OrderConfirmed{TrackingNumber: "T-1", At: now}}
	case api.StatusRejected:
		return []any{p, domain.OrderRejected{Reason: "out of stock", At: now}}
	case api.StatusCancelled:
		return []any{p, domain.OrderCancelled{Reason: "changed my mind", From: api.StatusPlaced, At: now}}
	case api.StatusShipped:
		return []any{p, domain.OrderConfirmed{TrackingNumber: "T-1", At: now}, domain.OrderShipped{TrackingNumber: "T-1", At: now}}
	case api.StatusDelivered:
		return []any{p, domain.OrderConfirmed{TrackingNumber: "T-1", At: now}, domain.OrderShipped{TrackingNumber: "T-1", At: now},
			domain.OrderDelivered{At: now}}
	}
	t.Fatalf("no history for %s", status)
	return nil
}

var statuses = []string{api.StatusDraft, api.StatusPlaced, api.StatusConfirmed, api.StatusRejected, api.StatusCancelled,
	api.StatusShipped, api.StatusDelivered}

// transition is what a command does from each status: the event it
// records, nil for nothing (a repeat), or the error it returns.
type transition struct {
	event any
	err   error
}

func runTransitions(t *testing.T, command func(*domain.Order) error, want map[string]transition, wantStatus string) {
	t.Helper()
	for _, status := range statuses {
		t.Run("from "+status, func(t *testing.T) {
			tr, ok := want[status]
			if !ok {
				t.Fatalf("no expectation from %s", status)
			}
			s := aggregatetest.Given(t, domain.NewOrder("o-1"), history(t, status)...).When(command)
			switch {
			case tr.err != nil:
				s.ThenError(tr.err)
			case tr.event == nil:
				s.Then().ThenState(func(t testing.TB, o *domain.Order) {
					if o.Status != status {
						t.Errorf("status %s, want %s unchanged", o.Status, status)
					}
				})
			default:
				s.Then(tr.event).ThenState(func(t testing.TB, o *domain.Order) {
					if o.Status != wantStatus || !o.UpdatedAt.Equal(later) {
						t.Errorf("status %s at %v, want %s at %v", o.Status, o.UpdatedAt, wantStatus, later)
					}
				})
			}
		})
	}
}

func TestConfirm(t *testing.T) {
	runTransitions(t, func(o *domain.Order) error { return o.Confirm("T-9", later) }, map[string]transition{
		api.StatusDraft:     {err: domain.ErrNotPlaced},
		api.StatusPlaced:    {event: domain.OrderConfirmed{TrackingNumber: "T-9", At: later}},
		api.StatusConfirmed: {},
		api.StatusRejected:  {err: domain.ErrNotConfirmable},
		api.StatusCancelled: {err: domain.ErrNotConfirmable},
		api.StatusShipped:   {},
		api.StatusDelivered: {},
	}, api.StatusConfirmed)
}

func TestReject(t *testing.T) {
	runTransitions(t, func(o *domain.Order) error { return o.Reject("payment declined", later) }, map[string]transition{
		api.StatusDraft:     {err: domain.ErrNotPlaced},
		api.StatusPlaced:    {event: domain.OrderRejected{Reason: "payment declined", At: later}},
		api.StatusConfirmed: {err: domain.ErrNotRejectable},
		api.StatusRejected:  {},
		api.StatusCancelled: {},
		api.StatusShipped:   {err: domain.ErrNotRejectable},
		api.StatusDelivered: {err: domain.ErrNotRejectable},
	}, api.StatusRejected)
}

func TestCancel(t *testing.T) {
	t.Run("placed", func(t *testing.T) {
		runTransitions(t, func(o *domain.Order) error { return o.Cancel("too slow", later) }, map[string]transition{
			api.StatusDraft:     {err: domain.ErrNotPlaced},
			api.StatusPlaced:    {event: domain.OrderCancelled{Reason: "too slow", From: api.StatusPlaced, At: later}},
			api.StatusConfirmed: {event: domain.OrderCancelled{Reason: "too slow", From: api.StatusConfirmed, At: later}},
			api.StatusRejected:  {err: domain.ErrNotCancellable},
			api.StatusCancelled: {},
			api.StatusShipped:   {err: domain.ErrNotCancellable},
			api.StatusDelivered: {err: domain.ErrNotCancellable},
		}, api.StatusCancelled)
	})
	if !errors.Is(domain.ErrNotCancellable, domain.ErrTransition) {
		t.Error("ErrNotCancellable does not match ErrTransition")
	}
}

func TestShip(t *testing.T) {
	runTransitions(t, func(o *domain.Order) error { return o.Ship("T-2", later) }, map[string]transition{
		api.StatusDraft:     {err: domain.ErrNotPlaced},
		api.StatusPlaced:    {err: domain.ErrNotShippable},
		api.StatusConfirmed: {event: domain.OrderShipped{TrackingNumber: "T-2", At: later}},
		api.StatusRejected:  {err: domain.ErrNotShippable},
		api.StatusCancelled: {err: domain.ErrNotShippable},
		api.StatusShipped:   {},
		api.StatusDelivered: {},
	}, api.StatusShipped)
}

func TestDeliver(t *testing.T) {
	runTransitions(t, func(o *domain.Order) error { return o.Deliver(later) }, map[string]transition{
		api.StatusDraft:     {err: domain.ErrNotPlaced},
		api.StatusPlaced:    {err: domain.ErrNotDeliverable},
		api.StatusConfirmed: {err: domain.ErrNotDeliverable},
		api.StatusRejected:  {err: domain.ErrNotDeliverable},
		api.StatusCancelled: {err: domain.ErrNotDeliverable},
		api.StatusShipped:   {event: domain.OrderDelivered{At: later}},
		api.StatusDelivered: {},
	}, api.StatusDelivered)
}

func TestOrderState(t *testing.T) {
	o := domain.NewOrder("o-1")
	aggregatetest.Given(t, o, history(t, api.StatusShipped)...)
	if o.Status != api.StatusShipped || o.TrackingNumber != "T-1" || o.Reason != "" {
		t.Errorf("state %+v", o.OrderState)
	}
	data, err := o.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	back := domain.NewOrder("o-1")
	if err := back.UnmarshalSnapshot(data); err != nil {
		t.Fatal(err)
	}
	if back.Status != o.Status || back.Totals != o.Totals || len(back.Lines) != 2 || back.ShippingAddress != address || !back.PlacedAt.Equal(now) {
		t.Errorf("snapshot round trip: %+v", back.OrderState)
	}
	r := domain.NewOrder("o-2")
	aggregatetest.Given(t, r, history(t, api.StatusRejected)...)
	if r.Status != api.StatusRejected || r.Reason != "out of stock" {
		t.Errorf("rejected state %+v", r.OrderState)
	}
}

// Clones share nothing a change writes (repositories cache them).
func TestClonesShareNoSlices(t *testing.T) {
	o := domain.NewOrder("o-1")
	o.Lines = append(make([]domain.Line, 0, 4), domain.Line{ProductID: "p-1", Quantity: 1})
	c := o.Clone()
	c.Lines[0].Quantity = 9
	c.Lines = append(c.Lines, domain.Line{ProductID: "p-2"})
	if len(o.Lines) != 1 || o.Lines[0].Quantity != 1 || o.ID() != c.ID() {
		t.Fatalf("original order changed through its clone: %+v", o.Lines)
	}
	b := domain.NewBasket("b-1")
	b.Items = append(make([]domain.BasketItem, 0, 4), domain.BasketItem{ProductID: "p-1", Quantity: 1})
	cb := b.Clone()
	cb.Items[0].Quantity = 9
	if b.Items[0].Quantity != 1 {
		t.Fatalf("original basket changed through its clone: %+v", b.Items)
	}
}
