package kernel_test

import (
	"errors"
	"testing"

	"github.com/eventual-go/eventual/examples/shop/kernel"
)

func TestMoney(t *testing.T) {
	a, err := kernel.NewMoney(1050, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	b := kernel.Money{Minor: 250, Currency: "EUR"}
	if s, _ := a.Add(b); s.Minor != 1300 {
		t.Errorf("add %v", s)
	}
	if d, _ := a.Sub(b); d.Minor != 800 {
		t.Errorf("sub %v", d)
	}
	if _, err := a.Add(kernel.Money{Minor: 1, Currency: "USD"}); !errors.Is(err, kernel.ErrCurrencyMismatch) {
		t.Errorf("mismatch: %v", err)
	}
	for _, tt := range []struct {
		minor, bp, want int64
	}{{1050, 2000, 210}, {999, 2000, 200}, {1, 5000, 1}, {-999, 2000, -200}, {12345, 1000, 1235}} {
		if got := (kernel.Money{Minor: tt.minor, Currency: "EUR"}).Percent(tt.bp); got.Minor != tt.want {
			t.Errorf("%d × %d bp = %d, want %d", tt.minor, tt.bp, got.Minor, tt.want)
		}
	}
	if s := (kernel.Money{Minor: -1205, Currency: "EUR"}).String(); s != "EUR -12.05" {
		t.Errorf("String %q", s)
	}
	if _, err := kernel.NewMoney(1, "eur"); !errors.Is(err, kernel.ErrInvalidMoney) {
		t.Errorf("bad currency: %v", err)
	}
	if got := a.Times(3); got.Minor != 3150 {
		t.Errorf("times %v", got)
	}
}

func TestAddress(t *testing.T) {
	ok := kernel.Address{Name: "Ada", Street: "1 Rue", City: "Paris", PostalCode: "75001", Country: "FR"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := kernel.Address{Name: "Ada", Country: "France"}
	err := bad.Validate()
	if !errors.Is(err, kernel.ErrInvalidAddress) || err.Error() != "invalid address: city is required; country must be a two-letter ISO code; postal_code is required; street is required" {
		t.Errorf("%v", err)
	}
}
