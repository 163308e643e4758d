package domain_test

import (
	"testing"

	"github.com/eventual-go/eventual/aggregate/aggregatetest"
	"github.com/eventual-go/eventual/examples/shop/catalog/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/kernel"
)

func TestStore(t *testing.T) {
	aggregatetest.Given(t, domain.NewStore("s-1")).
		When(func(s *domain.Store) error { return s.Create(" Books ", " Level 1 ") }).
		Then(domain.StoreCreated{Name: "Books", Location: "Level 1"}).
		ThenState(func(t testing.TB, s *domain.Store) {
			if !s.Participating {
				t.Error("a new store does not take part")
			}
		})
	aggregatetest.Given(t, domain.NewStore("s-1")).
		When(func(s *domain.Store) error { return s.Create(" ", "") }).
		ThenError(domain.ErrInvalidName)
	created := domain.StoreCreated{Name: "Books"}
	aggregatetest.Given(t, domain.NewStore("s-1"), created).
		When(func(s *domain.Store) error { return s.Create("Books", "") }).
		ThenError(domain.ErrExists)
	aggregatetest.Given(t, domain.NewStore("s-1"), created).
		When(func(s *domain.Store) error { return s.Rebrand("Novels") }).
		Then(domain.StoreRebranded{Name: "Novels"})
	aggregatetest.Given(t, domain.NewStore("s-1"), created).
		When(func(s *domain.Store) error { return s.Rebrand("Books") }).
		Then()
	aggregatetest.Given(t, domain.NewStore("s-1"), created).
		When(func(s *domain.Store) error { return s.Rebrand("") }).
		ThenError(domain.ErrInvalidName)
	aggregatetest.Given(t, domain.NewStore("s-1")).
		When(func(s *domain.Store) error { return s.Rebrand("Novels") }).
		ThenError(domain.ErrNotCreated)
	aggregatetest.Given(t, domain.NewStore("s-1"), created).
		When(func(s *domain.Store) error { return s.SetParticipation(false) }).
		Then(domain.ParticipationChanged{Participating: false})
	aggregatetest.Given(t, domain.NewStore("s-1"), created).
		When(func(s *domain.Store) error { return s.SetParticipation(true) }).
		Then()
	aggregatetest.Given(t, domain.NewStore("s-1"), created, domain.ParticipationChanged{}).
		When(func(s *domain.Store) error { return s.SetParticipation(true) }).
		Then(domain.ParticipationChanged{Participating: true})
}

func TestProduct(t *testing.T) {
	eur := func(minor int64) kernel.Money { return kernel.Money{Minor: minor, Currency: "EUR"} }
	aggregatetest.Given(t, domain.NewProduct("p-1")).
		When(func(p *domain.Product) error { return p.Add("s-1", " Tea ", " green ", " T-1 ", eur(450)) }).
		Then(domain.ProductAdded{StoreID: "s-1", Name: "Tea", Description: "green", SKU: "T-1", Price: eur(450)})
	for name, tt := range map[string]struct {
		name, sku string
		price     kernel.Money
		err       error
	}{
		"no name":       {"", "T-1", eur(1), domain.ErrInvalidName},
		"no sku":        {"Tea", " ", eur(1), domain.ErrInvalidSKU},
		"zero price":    {"Tea", "T-1", eur(0), domain.ErrInvalidPrice},
		"negative":      {"Tea", "T-1", eur(-5), domain.ErrInvalidPrice},
		"bad currency":  {"Tea", "T-1", kernel.Money{Minor: 5, Currency: "eu"}, domain.ErrInvalidPrice},
		"no currency":   {"Tea", "T-1", kernel.Money{Minor: 5}, domain.ErrInvalidPrice},
		"nothing right": {"", "", kernel.Money{}, domain.ErrInvalidName},
	} {
		t.Run(name, func(t *testing.T) {
			aggregatetest.Given(t, domain.NewProduct("p-1")).
				When(func(p *domain.Product) error { return p.Add("s-1", tt.name, "", tt.sku, tt.price) }).
				ThenError(tt.err)
		})
	}

	added := domain.ProductAdded{StoreID: "s-1", Name: "Tea", SKU: "T-1", Price: eur(450)}
	aggregatetest.Given(t, domain.NewProduct("p-1"), added).
		When(func(p *domain.Product) error { return p.Rebrand("Green tea", "Sencha") }).
		Then(domain.ProductRebranded{Name: "Green tea", Description: "Sencha"})
	aggregatetest.Given(t, domain.NewProduct("p-1"), added).
		When(func(p *domain.Product) error { return p.Rebrand("Tea", "") }).
		Then()
	aggregatetest.Given(t, domain.NewProduct("p-1"), added).
		When(func(p *domain.Product) error { return p.Rebrand(" ", "x") }).
		ThenError(domain.ErrInvalidName)
	aggregatetest.Given(t, domain.NewProduct("p-1"), added).
		When(func(p *domain.Product) error { return p.ChangePrice(eur(500)) }).
		Then(domain.PriceChanged{Price: eur(500), OldPrice: eur(450)})
	aggregatetest.Given(t, domain.NewProduct("p-1"), added).
		When(func(p *domain.Product) error { return p.ChangePrice(eur(450)) }).
		Then()
	aggregatetest.Given(t, domain.NewProduct("p-1"), added).
		When(func(p *domain.Product) error { return p.ChangePrice(eur(0)) }).
		ThenError(domain.ErrInvalidPrice)
	aggregatetest.Given(t, domain.NewProduct("p-1"), added).
		When(func(p *domain.Product) error { return p.ChangePrice(kernel.Money{Minor: 500, Currency: "USD"}) }).
		ThenError(domain.ErrCurrencyMismatch)
	aggregatetest.Given(t, domain.NewProduct("p-1"), added).
		When(func(p *domain.Product) error { return p.Remove() }).
		Then(domain.ProductRemoved{})
	aggregatetest.Given(t, domain.NewProduct("p-1")).
		When(func(p *domain.Product) error { return p.Remove() }).
		ThenError(domain.ErrNotCreated)

	removed := []any{added, domain.ProductRemoved{}}
	for name, change := range map[string]func(p *domain.Product) error{
		"rebrand": func(p *domain.Product) error { return p.Rebrand("Coffee", "") },
		"price":   func(p *domain.Product) error { return p.ChangePrice(eur(1)) },
		"remove":  func(p *domain.Product) error { return p.Remove() },
	} {
		t.Run("removed "+name, func(t *testing.T) {
			aggregatetest.Given(t, domain.NewProduct("p-1"), removed...).When(change).ThenError(domain.ErrRemoved)
		})
	}
}
