package domain_test

import (
	"errors"
	"testing"

	"github.com/eventual-go/eventual/aggregate/aggregatetest"
	"github.com/eventual-go/eventual/examples/shop/inventory/internal/domain"
)

func TestReceiveAndAdjust(t *testing.T) {
	aggregatetest.Given(t, domain.New("p-1")).
		When(func(s *domain.Stock) error { return s.Receive(10) }).
		Then(domain.Received{Quantity: 10})
	aggregatetest.Given(t, domain.New("p-1")).
		When(func(s *domain.Stock) error { return s.Receive(0) }).
		ThenError(domain.ErrInvalidQuantity)

	stocked := []any{domain.Received{Quantity: 10}, domain.Reserved{OrderID: "o-1", Quantity: 4}}
	aggregatetest.Given(t, domain.New("p-1"), stocked...).
		When(func(s *domain.Stock) error { return s.Adjust(-6, " broken ") }).
		Then(domain.Adjusted{Delta: -6, Reason: "broken"}).
		ThenState(func(t testing.TB, s *domain.Stock) {
			if s.OnHand != 4 || s.Reserved != 4 || s.Available() != 0 {
				t.Errorf("stock %+v", s)
			}
		})
	aggregatetest.Given(t, domain.New("p-1"), stocked...).
		When(func(s *domain.Stock) error { return s.Adjust(-7, "broken") }).
		ThenError(domain.ErrBelowReserved)
	aggregatetest.Given(t, domain.New("p-1"), stocked...).
		When(func(s *domain.Stock) error { return s.Adjust(-1, " ") }).
		ThenError(domain.ErrNoReason)
	aggregatetest.Given(t, domain.New("p-1"), stocked...).
		When(func(s *domain.Stock) error { return s.SetOnHand(25, "count") }).
		Then(domain.Adjusted{Delta: 15, Reason: "count"})
	aggregatetest.Given(t, domain.New("p-1"), stocked...).
		When(func(s *domain.Stock) error { return s.SetOnHand(10, "count") }).
		Then()
	aggregatetest.Given(t, domain.New("p-1")).
		When(func(s *domain.Stock) error { return s.Adjust(-1, "lost") }).
		ThenError(domain.ErrBelowReserved)
}

func TestReserveReleaseCommit(t *testing.T) {
	received := domain.Received{Quantity: 5}
	aggregatetest.Given(t, domain.New("p-1"), received).
		When(func(s *domain.Stock) error { return s.Reserve("o-1", 5) }).
		Then(domain.Reserved{OrderID: "o-1", Quantity: 5})
	sc := aggregatetest.Given(t, domain.New("p-1"), received, domain.Reserved{OrderID: "o-1", Quantity: 3}).
		When(func(s *domain.Stock) error { return s.Reserve("o-2", 3) }).
		ThenError(domain.ErrInsufficientStock)
	var short *domain.ShortError
	if err := sc.Aggregate().Reserve("o-2", 3); !errors.As(err, &short) || short.Requested != 3 || short.Available != 2 || short.ProductID != "p-1" {
		t.Errorf("short error %v", err)
	}
	aggregatetest.Given(t, domain.New("p-1"), received).
		When(func(s *domain.Stock) error { return s.Reserve("o-1", -1) }).
		ThenError(domain.ErrInvalidQuantity)

	reserved := []any{received, domain.Reserved{OrderID: "o-1", Quantity: 3}}
	aggregatetest.Given(t, domain.New("p-1"), reserved...).
		When(func(s *domain.Stock) error { return s.Release("o-1", 3) }).
		Then(domain.Released{OrderID: "o-1", Quantity: 3}).
		ThenState(func(t testing.TB, s *domain.Stock) {
			if s.OnHand != 5 || s.Reserved != 0 {
				t.Errorf("stock %+v", s)
			}
		})
	aggregatetest.Given(t, domain.New("p-1"), reserved...).
		When(func(s *domain.Stock) error { return s.Commit("o-1", 3) }).
		Then(domain.Committed{OrderID: "o-1", Quantity: 3}).
		ThenState(func(t testing.TB, s *domain.Stock) {
			if s.OnHand != 2 || s.Reserved != 0 || s.Available() != 2 {
				t.Errorf("stock %+v", s)
			}
		})
	aggregatetest.Given(t, domain.New("p-1"), reserved...).
		When(func(s *domain.Stock) error { return s.Release("o-1", 4) }).
		ThenError(domain.ErrNotReserved)
	aggregatetest.Given(t, domain.New("p-1"), reserved...).
		When(func(s *domain.Stock) error { return s.Commit("o-1", 4) }).
		ThenError(domain.ErrNotReserved)
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := domain.New("p-1")
	s.OnHand, s.Reserved = 7, 2
	data, err := s.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	got := domain.New("p-1")
	if err := got.UnmarshalSnapshot(data); err != nil || got.OnHand != 7 || got.Reserved != 2 {
		t.Errorf("restored %+v, %v", got, err)
	}
}
