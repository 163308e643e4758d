package domain_test

import (
	"errors"
	"testing"

	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/domain"
)

func money(minor int64, cur string) kernel.Money { return kernel.Money{Minor: minor, Currency: cur} }

func item(id string, qty, price int64, cur string) domain.Item {
	return domain.Item{ProductID: id, StoreID: "s-1", Name: "Product " + id, Quantity: qty, UnitPrice: money(price, cur)}
}

func TestPricing(t *testing.T) {
	tests := []struct {
		name    string
		items   []domain.Item
		code    string
		country string
		want    domain.Totals // currency from the items
		err     error
	}{
		{name: "France, no discount", items: []domain.Item{item("a", 2, 1500, "EUR")}, country: "FR",
			want: domain.Totals{Subtotal: money(3000, "EUR"), Tax: money(600, "EUR"), Shipping: money(490+2*100, "EUR"), Total: money(4290, "EUR")}},
		{name: "US, SAVE10, 8 % tax, North America shipping", items: []domain.Item{item("a", 1, 5000, "USD")}, code: "SAVE10", country: "US",
			want: domain.Totals{Subtotal: money(5000, "USD"), Discount: money(500, "USD"), Tax: money(360, "USD"), Shipping: money(1140, "USD"), Total: money(6000, "USD")}},
		{name: "Germany, bulk line, 19 % tax rounded, free shipping", items: []domain.Item{item("a", 10, 1000, "EUR"), item("b", 1, 999, "EUR")}, country: "DE",
			want: domain.Totals{Subtotal: money(10999, "EUR"), Discount: money(500, "EUR"), Tax: money(1995, "EUR"), Shipping: money(0, "EUR"), Total: money(12494, "EUR")}},
		{name: "code and bulk add up, default tax, world shipping", items: []domain.Item{item("a", 12, 250, "JPY")}, code: " save10 ", country: "JP",
			want: domain.Totals{Subtotal: money(3000, "JPY"), Discount: money(450, "JPY"), Tax: money(510, "JPY"), Shipping: money(1990+12*250, "JPY"), Total: money(8050, "JPY")}},
		{name: "free shipping from 100.00 exactly", items: []domain.Item{item("a", 1, 10000, "EUR")}, country: "GB",
			want: domain.Totals{Subtotal: money(10000, "EUR"), Tax: money(2000, "EUR"), Shipping: money(0, "EUR"), Total: money(12000, "EUR")}},
		{name: "just under free shipping", items: []domain.Item{item("a", 1, 9999, "EUR")}, country: "GB",
			want: domain.Totals{Subtotal: money(9999, "EUR"), Tax: money(2000, "EUR"), Shipping: money(590, "EUR"), Total: money(12589, "EUR")}},
		{name: "9 units get no bulk discount", items: []domain.Item{item("a", 9, 100, "EUR")}, country: "FR",
			want: domain.Totals{Subtotal: money(900, "EUR"), Tax: money(180, "EUR"), Shipping: money(490+900, "EUR"), Total: money(2470, "EUR")}},
		{name: "no items", country: "FR", err: domain.ErrNoLines},
		{name: "zero quantity", items: []domain.Item{item("a", 0, 100, "EUR")}, country: "FR", err: domain.ErrInvalidQuantity},
		{name: "quantity too large", items: []domain.Item{item("a", domain.MaxQuantity+1, 100, "EUR")}, country: "FR", err: domain.ErrInvalidQuantity},
		{name: "negative price", items: []domain.Item{item("a", 1, -1, "EUR")}, country: "FR", err: domain.ErrInvalidPrice},
		{name: "bad currency", items: []domain.Item{item("a", 1, 100, "euro")}, country: "FR", err: domain.ErrInvalidPrice},
		{name: "two currencies", items: []domain.Item{item("a", 1, 100, "EUR"), item("b", 1, 100, "USD")}, country: "FR", err: domain.ErrMixedCurrencies},
		{name: "unknown code", items: []domain.Item{item("a", 1, 100, "EUR")}, code: "FREE", country: "FR", err: domain.ErrUnknownDiscountCode},
	}
	p := domain.DefaultPricing()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Price(tt.items, tt.code, tt.country)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.Discount.Currency == "" {
				tt.want.Discount.Currency = tt.want.Total.Currency
			}
			if got.Totals != tt.want {
				t.Errorf("totals\n got %+v\nwant %+v", got.Totals, tt.want)
			}
			if err := domain.Check(got.Lines, got.Totals); err != nil {
				t.Errorf("priced lines fail their own check: %v", err)
			}
			for i, l := range got.Lines {
				if l.ProductID != tt.items[i].ProductID || l.Total.Minor != tt.items[i].UnitPrice.Minor*tt.items[i].Quantity {
					t.Errorf("line %d: %+v", i, l)
				}
			}
		})
	}
}

func TestDiscountCodeIsNormalized(t *testing.T) {
	got, err := domain.DefaultPricing().Price([]domain.Item{item("a", 1, 100, "EUR")}, " save10", "FR")
	if err != nil || got.DiscountCode != "SAVE10" {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestTaxRates(t *testing.T) {
	p := domain.DefaultPricing()
	for country, want := range map[string]int64{"US": 800, "DE": 1900, "FR": 2000, "IT": 2000, "": 2000} {
		if got := p.TaxRate(country); got != want {
			t.Errorf("TaxRate(%q) = %d, want %d", country, got, want)
		}
	}
}

func TestShippingCost(t *testing.T) {
	s := domain.DefaultShippingCost()
	tests := []struct {
		name     string
		country  string
		units    int64
		subtotal int64
		want     int64
		zone     string
	}{
		{"Europe", "FR", 1, 1000, 590, domain.ZoneEurope},
		{"Europe, three units", "DE", 3, 1000, 790, domain.ZoneEurope},
		{"North America", "US", 2, 1000, 1290, domain.ZoneNorthAmerica},
		{"Canada", "CA", 1, 1000, 1140, domain.ZoneNorthAmerica},
		{"world", "BR", 1, 1000, 2240, domain.ZoneWorld},
		{"free from 100.00", "BR", 50, 10000, 0, domain.ZoneWorld},
		{"free above", "FR", 1, 25000, 0, domain.ZoneEurope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if z := s.Zone(tt.country); z != tt.zone {
				t.Errorf("zone %s, want %s", z, tt.zone)
			}
			got := s.Cost(tt.country, tt.units, money(tt.subtotal, "EUR"))
			if got != money(tt.want, "EUR") {
				t.Errorf("cost %v, want %d", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	line := domain.Line{ProductID: "a", Quantity: 2, UnitPrice: money(100, "EUR"), Total: money(200, "EUR")}
	ok := domain.Totals{Subtotal: money(200, "EUR"), Discount: money(20, "EUR"), Tax: money(36, "EUR"), Shipping: money(590, "EUR"), Total: money(806, "EUR")}
	with := func(f func(*domain.Totals)) domain.Totals { t := ok; f(&t); return t }
	bad := line
	bad.Total = money(300, "EUR")
	usd := line
	usd.UnitPrice, usd.Total = money(100, "USD"), money(200, "USD")
	zero := line
	zero.Quantity, zero.Total = 0, money(0, "EUR")
	tests := []struct {
		name   string
		lines  []domain.Line
		totals domain.Totals
		err    error
	}{
		{"consistent", []domain.Line{line}, ok, nil},
		{"no lines", nil, ok, domain.ErrNoLines},
		{"zero quantity", []domain.Line{zero}, ok, domain.ErrInvalidQuantity},
		{"line total wrong", []domain.Line{bad}, ok, domain.ErrInconsistentTotals},
		{"line in another currency", []domain.Line{usd}, ok, domain.ErrMixedCurrencies},
		{"subtotal wrong", []domain.Line{line}, with(func(t *domain.Totals) { t.Subtotal.Minor = 201 }), domain.ErrInconsistentTotals},
		{"total wrong", []domain.Line{line}, with(func(t *domain.Totals) { t.Total.Minor = 1 }), domain.ErrInconsistentTotals},
		{"negative tax", []domain.Line{line}, with(func(t *domain.Totals) { t.Tax.Minor, t.Total.Minor = -36, 734 }), domain.ErrInconsistentTotals},
		{"discount above subtotal", []domain.Line{line}, with(func(t *domain.Totals) { t.Discount.Minor, t.Total.Minor = 300, 526 }), domain.ErrInconsistentTotals},
		{"tax in another currency", []domain.Line{line}, with(func(t *domain.Totals) { t.Tax.Currency = "USD" }), domain.ErrMixedCurrencies},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := domain.Check(tt.lines, tt.totals)
			if (tt.err == nil && err != nil) || (tt.err != nil && !errors.Is(err, tt.err)) {
				t.Errorf("error %v, want %v", err, tt.err)
			}
		})
	}
}
