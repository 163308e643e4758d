package domain_test

import (
	"testing"

	"github.com/eventual-go/eventual/aggregate/aggregatetest"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/domain"
)

var (
	started = domain.BasketStarted{CustomerID: "c-1", At: now}
	addedA  = domain.BasketItemAdded{ProductID: "a", StoreID: "s-1", Name: "Product a", Price: money(1500, "EUR"), Quantity: 2}
)

func TestBasketStart(t *testing.T) {
	aggregatetest.Given(t, domain.NewBasket("b-1")).
		When(func(b *domain.Basket) error { return b.Start(" c-1 ", now) }).
		Then(started).
		ThenState(func(t testing.TB, b *domain.Basket) {
			if b.Status != domain.StatusOpen || b.CustomerID != "c-1" {
				t.Errorf("state %+v", b.BasketState)
			}
		})
	aggregatetest.Given(t, domain.NewBasket("b-1")).
		When(func(b *domain.Basket) error { return b.Start("", now) }).
		ThenError(domain.ErrInvalidCustomer)
	aggregatetest.Given(t, domain.NewBasket("b-1"), started).
		When(func(b *domain.Basket) error { return b.Start("c-1", now) }).
		ThenError(domain.ErrBasketStarted)
}

func TestBasketAddItem(t *testing.T) {
	aggregatetest.Given(t, domain.NewBasket("b-1"), started).
		When(func(b *domain.Basket) error { return b.AddItem(item("a", 2, 1500, "EUR")) }).
		Then(addedA)
	t.Run("same product adds up, newer price", func(t *testing.T) {
		aggregatetest.Given(t, domain.NewBasket("b-1"), started, addedA).
			When(func(b *domain.Basket) error { return b.AddItem(item("a", 3, 1400, "EUR")) }).
			Then(domain.BasketItemAdded{ProductID: "a", StoreID: "s-1", Name: "Product a", Price: money(1400, "EUR"), Quantity: 3}).
			ThenState(func(t testing.TB, b *domain.Basket) {
				if len(b.Items) != 1 || b.Items[0].Quantity != 5 || b.Items[0].Price.Minor != 1400 {
					t.Errorf("items %+v", b.Items)
				}
			})
	})
	tests := []struct {
		name    string
		history []any
		item    domain.Item
		err     error
	}{
		{"not started", nil, item("a", 1, 100, "EUR"), domain.ErrNoBasket},
		{"zero quantity", []any{started}, item("a", 0, 100, "EUR"), domain.ErrInvalidQuantity},
		{"negative quantity", []any{started}, item("a", -1, 100, "EUR"), domain.ErrInvalidQuantity},
		{"past the maximum in total", []any{started, addedA}, item("a", domain.MaxQuantity-1, 100, "EUR"), domain.ErrInvalidQuantity},
		{"no product", []any{started}, item("", 1, 100, "EUR"), domain.ErrInvalidProduct},
		{"checked out", []any{started, addedA, domain.BasketCheckedOut{OrderID: "o-1", At: now}}, item("a", 1, 100, "EUR"), domain.ErrBasketClosed},
		{"cancelled", []any{started, domain.BasketCancelled{At: now}}, item("a", 1, 100, "EUR"), domain.ErrBasketClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aggregatetest.Given(t, domain.NewBasket("b-1"), tt.history...).
				When(func(b *domain.Basket) error { return b.AddItem(tt.item) }).
				ThenError(tt.err)
		})
	}
}

func TestBasketRemoveItem(t *testing.T) {
	tests := []struct {
		name     string
		quantity int64
		want     any
		left     int64
	}{
		{"some", 1, domain.BasketItemRemoved{ProductID: "a", Quantity: 1}, 1},
		{"all with 0", 0, domain.BasketItemRemoved{ProductID: "a", Quantity: 2}, 0},
		{"more than held removes all", 5, domain.BasketItemRemoved{ProductID: "a", Quantity: 2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aggregatetest.Given(t, domain.NewBasket("b-1"), started, addedA).
				When(func(b *domain.Basket) error { return b.RemoveItem("a", tt.quantity) }).
				Then(tt.want).
				ThenState(func(t testing.TB, b *domain.Basket) {
					if got := b.Quantity("a"); got != tt.left {
						t.Errorf("left %d, want %d", got, tt.left)
					}
					if tt.left == 0 && len(b.Items) != 0 {
						t.Errorf("items %+v", b.Items)
					}
				})
		})
	}
	aggregatetest.Given(t, domain.NewBasket("b-1"), started, addedA).
		When(func(b *domain.Basket) error { return b.RemoveItem("z", 1) }).
		ThenError(domain.ErrNotInBasket)
	aggregatetest.Given(t, domain.NewBasket("b-1"), started, addedA).
		When(func(b *domain.Basket) error { return b.RemoveItem("a", -1) }).
		ThenError(domain.ErrInvalidQuantity)
	aggregatetest.Given(t, domain.NewBasket("b-1"), started, addedA, domain.BasketCancelled{At: now}).
		When(func(b *domain.Basket) error { return b.RemoveItem("a", 1) }).
		ThenError(domain.ErrBasketClosed)
}

func TestBasketCheckout(t *testing.T) {
	aggregatetest.Given(t, domain.NewBasket("b-1"), started, addedA).
		When(func(b *domain.Basket) error { return b.Checkout("o-1", later) }).
		Then(domain.BasketCheckedOut{OrderID: "o-1", At: later}).
		ThenState(func(t testing.TB, b *domain.Basket) {
			if b.Status != domain.StatusCheckedOut || b.OrderID != "o-1" || len(b.ItemsToPrice()) != 1 {
				t.Errorf("state %+v", b.BasketState)
			}
		})
	aggregatetest.Given(t, domain.NewBasket("b-1"), started).
		When(func(b *domain.Basket) error { return b.Checkout("o-1", later) }).
		ThenError(domain.ErrEmptyBasket)
	aggregatetest.Given(t, domain.NewBasket("b-1"), started, addedA, domain.BasketItemRemoved{ProductID: "a", Quantity: 2}).
		When(func(b *domain.Basket) error { return b.Checkout("o-1", later) }).
		ThenError(domain.ErrEmptyBasket)
	aggregatetest.Given(t, domain.NewBasket("b-1"), started, addedA, domain.BasketCheckedOut{OrderID: "o-1", At: now}).
		When(func(b *domain.Basket) error { return b.Checkout("o-2", later) }).
		ThenError(domain.ErrBasketClosed)
	aggregatetest.Given(t, domain.NewBasket("b-1")).
		When(func(b *domain.Basket) error { return b.Checkout("o-1", later) }).
		ThenError(domain.ErrNoBasket)
}

func TestBasketCancel(t *testing.T) {
	aggregatetest.Given(t, domain.NewBasket("b-1"), started, addedA).
		When(func(b *domain.Basket) error { return b.Cancel(later) }).
		Then(domain.BasketCancelled{At: later})
	aggregatetest.Given(t, domain.NewBasket("b-1"), started, domain.BasketCancelled{At: now}).
		When(func(b *domain.Basket) error { return b.Cancel(later) }).
		Then()
	aggregatetest.Given(t, domain.NewBasket("b-1"), started, addedA, domain.BasketCheckedOut{OrderID: "o-1", At: now}).
		When(func(b *domain.Basket) error { return b.Cancel(later) }).
		ThenError(domain.ErrBasketClosed)
}

func TestBasketSnapshot(t *testing.T) {
	b := domain.NewBasket("b-1")
	aggregatetest.Given(t, b, started, addedA)
	data, err := b.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	back := domain.NewBasket("b-1")
	if err := back.UnmarshalSnapshot(data); err != nil {
		t.Fatal(err)
	}
	if back.Status != domain.StatusOpen || back.Quantity("a") != 2 || back.CustomerID != "c-1" {
		t.Errorf("round trip %+v", back.BasketState)
	}
}
