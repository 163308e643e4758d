// Package kernel is the shop's shared kernel: the few value types every
// bounded context and every api/ contract speaks — Money and Address.
// Nothing else is shared between contexts.
package kernel

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Errors of the value types.
var (
	// ErrInvalidMoney means an amount or currency that is not valid.
	ErrInvalidMoney = errors.New("invalid money")
	// ErrCurrencyMismatch means arithmetic on two currencies.
	ErrCurrencyMismatch = errors.New("currency mismatch")
	// ErrInvalidAddress means an address missing a part.
	ErrInvalidAddress = errors.New("invalid address")
)

// Money is an amount in minor units (cents) of an ISO 4217 currency: never
// a float.
type Money struct {
	Minor    int64  `json:"minor" description:"Amount in minor units (cents)."`
	Currency string `json:"currency" description:"ISO 4217 code, like EUR." example:"EUR"`
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// NewMoney returns minor units of currency. Errors: ErrInvalidMoney for a
// currency that is not three capital letters.
func NewMoney(minor int64, currency string) (Money, error) {
	m := Money{Minor: minor, Currency: currency}
	return m, m.Validate()
}

// Validate checks the currency code. Errors: ErrInvalidMoney.
func (m Money) Validate() error {
	if !currencyRE.MatchString(m.Currency) {
		return fmt.Errorf("%w: currency %q is not an ISO 4217 code", ErrInvalidMoney, m.Currency)
	}
	return nil
}

// Zero is no money in currency.
func Zero(currency string) Money { return Money{Currency: currency} }

// Add returns m + o. Errors: ErrCurrencyMismatch.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return m, fmt.Errorf("%w: %s + %s", ErrCurrencyMismatch, m.Currency, o.Currency)
	}
	return Money{Minor: m.Minor + o.Minor, Currency: m.Currency}, nil
}

// Sub returns m − o. Errors: ErrCurrencyMismatch.
func (m Money) Sub(o Money) (Money, error) {
	return m.Add(Money{Minor: -o.Minor, Currency: o.Currency})
}

// Times returns m × n.
func (m Money) Times(n int64) Money { return Money{Minor: m.Minor * n, Currency: m.Currency} }

// Percent returns m × basisPoints / 10,000, rounded half away from zero:
// Percent(2000) is 20 %.
func (m Money) Percent(basisPoints int64) Money {
	v := m.Minor * basisPoints
	q := v / 10_000
	if r := v % 10_000; r >= 5_000 {
		q++
	} else if r <= -5_000 {
		q--
	}
	return Money{Minor: q, Currency: m.Currency}
}

// IsZero reports whether the amount is zero.
func (m Money) IsZero() bool { return m.Minor == 0 }

// String formats m like "EUR 12.34".
func (m Money) String() string {
	sign := ""
	v := m.Minor
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s %s%d.%02d", m.Currency, sign, v/100, v%100)
}

// Address is where an order goes.
type Address struct {
	Name       string `json:"name"`
	Street     string `json:"street"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country" description:"ISO 3166-1 alpha-2 code, like FR." example:"FR"`
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// Validate returns the names of the missing or bad parts, wrapped in
// ErrInvalidAddress, or nil.
func (a Address) Validate() error {
	var bad []string
	for name, v := range map[string]string{"name": a.Name, "street": a.Street, "city": a.City, "postal_code": a.PostalCode} {
		if strings.TrimSpace(v) == "" {
			bad = append(bad, name+" is required")
		}
	}
	if !countryRE.MatchString(a.Country) {
		bad = append(bad, "country must be a two-letter ISO code")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidAddress, strings.Join(sortStrings(bad), "; "))
	}
	return nil
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}
