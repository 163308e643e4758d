package domain_test

import (
	"testing"

	"github.com/eventual-go/eventual/aggregate/aggregatetest"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/examples/shop/shipping/internal/domain"
)

var (
	paris   = kernel.Address{Name: "Ada", Street: "1 rue de Rivoli", City: "Paris", PostalCode: "75001", Country: "FR"}
	items   = []api.Item{{ProductID: "p-1", Quantity: 2}}
	created = domain.Created{ShipmentID: "s-1", TrackingNumber: "TRK0123456789", Address: paris, Items: items}
)

func TestCreate(t *testing.T) {
	nowhere := paris
	nowhere.Country = api.UnavailableCountry
	noStreet := paris
	noStreet.Street = ""
	for name, tt := range map[string]struct {
		addr      kernel.Address
		available bool
		want      any
	}{
		"created":      {paris, true, created},
		"XX":           {nowhere, true, domain.Refused{Reason: "shipping unavailable to XX"}},
		"switched off": {paris, false, domain.Refused{Reason: "shipping unavailable"}},
		"bad address":  {noStreet, true, domain.Refused{Reason: "invalid address: street is required"}},
	} {
		t.Run(name, func(t *testing.T) {
			aggregatetest.Given(t, domain.New("o-1")).
				When(func(s *domain.Shipment) error {
					return s.Create("s-1", "TRK0123456789", tt.addr, items, tt.available)
				}).
				Then(tt.want)
		})
	}
	// Asked again: nothing changes, and the answer is the same.
	for name, tt := range map[string]struct {
		history []any
		ok      bool
		reason  string
	}{
		"created":   {[]any{created}, true, ""},
		"shipped":   {[]any{created, domain.Shipped{}}, true, ""},
		"refused":   {[]any{domain.Refused{Reason: "shipping unavailable"}}, false, "shipping unavailable"},
		"cancelled": {[]any{created, domain.Cancelled{}}, false, "cancelled"},
	} {
		t.Run("again "+name, func(t *testing.T) {
			aggregatetest.Given(t, domain.New("o-1"), tt.history...).
				When(func(s *domain.Shipment) error { return s.Create("s-2", "TRKAAAAAAAAAA", paris, items, true) }).
				Then().
				ThenState(func(t testing.TB, s *domain.Shipment) {
					if ok, reason := s.Created(); ok != tt.ok || reason != tt.reason {
						t.Errorf("Created() = %v, %q", ok, reason)
					}
					if tt.ok && s.ShipmentID != "s-1" {
						t.Errorf("shipment %s", s.ShipmentID)
					}
				})
		})
	}
}

func TestCancel(t *testing.T) {
	aggregatetest.Given(t, domain.New("o-1"), created).
		When(func(s *domain.Shipment) error { return s.Cancel() }).
		Then(domain.Cancelled{})
	for name, tt := range map[string]struct {
		history []any
		reason  string
	}{
		"none":      {nil, ""},
		"refused":   {[]any{domain.Refused{Reason: "shipping unavailable"}}, ""},
		"cancelled": {[]any{created, domain.Cancelled{}}, ""},
		"shipped":   {[]any{created, domain.Shipped{}}, "already shipped"},
		"delivered": {[]any{created, domain.Shipped{}, domain.Delivered{}}, "already shipped"},
	} {
		t.Run(name, func(t *testing.T) {
			aggregatetest.Given(t, domain.New("o-1"), tt.history...).
				When(func(s *domain.Shipment) error { return s.Cancel() }).
				Then().
				ThenState(func(t testing.TB, s *domain.Shipment) {
					if got := s.CancelReason(); got != tt.reason {
						t.Errorf("CancelReason() = %q, want %q", got, tt.reason)
					}
				})
		})
	}
}

func TestShipAndDeliver(t *testing.T) {
	aggregatetest.Given(t, domain.New("o-1"), created).
		When(func(s *domain.Shipment) error { return s.Ship() }).
		Then(domain.Shipped{})
	aggregatetest.Given(t, domain.New("o-1"), created, domain.Shipped{}).
		When(func(s *domain.Shipment) error { return s.Ship() }).
		Then()
	aggregatetest.Given(t, domain.New("o-1"), created, domain.Cancelled{}).
		When(func(s *domain.Shipment) error { return s.Ship() }).
		ThenError(domain.ErrNotShippable)
	aggregatetest.Given(t, domain.New("o-1"), domain.Refused{Reason: "x"}).
		When(func(s *domain.Shipment) error { return s.Ship() }).
		ThenError(domain.ErrNotShippable)
	aggregatetest.Given(t, domain.New("o-1"), created, domain.Shipped{}).
		When(func(s *domain.Shipment) error { return s.Deliver() }).
		Then(domain.Delivered{})
	aggregatetest.Given(t, domain.New("o-1"), created, domain.Shipped{}, domain.Delivered{}).
		When(func(s *domain.Shipment) error { return s.Deliver() }).
		Then()
	aggregatetest.Given(t, domain.New("o-1"), created).
		When(func(s *domain.Shipment) error { return s.Deliver() }).
		ThenError(domain.ErrNotShipped)
}

func TestSnapshot(t *testing.T) {
	s := domain.New("o-1")
	if err := s.Create("s-1", "TRK0123456789", paris, items, true); err != nil {
		t.Fatal(err)
	}
	data, err := s.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := domain.New("o-1")
	if err := r.UnmarshalSnapshot(data); err != nil {
		t.Fatal(err)
	}
	if r.ShipmentID != "s-1" || r.Status != domain.StatusCreated || r.Address != paris || len(r.Items) != 1 {
		t.Errorf("restored %+v", r)
	}
}

// Clones share nothing a change writes (repositories cache them).
func TestCloneSharesNoItems(t *testing.T) {
	s := domain.New("s-1")
	s.Items = append(make([]api.Item, 0, 4), api.Item{ProductID: "p-1", Quantity: 1})
	c := s.Clone()
	c.Items[0].Quantity = 9
	if s.Items[0].Quantity != 1 {
		t.Fatalf("original changed through its clone: %+v", s.Items)
	}
}
