package account

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Money is an amount in minor units (cents) of a currency. It never uses
// floating point.
type Money struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

// Errors of money arithmetic.
var (
	ErrCurrencyMismatch = errors.New("currencies differ")
	ErrBadAmount        = errors.New("not an amount")
	ErrBadCurrency      = errors.New("not an ISO 4217 currency code")
	ErrOverflow         = errors.New("amount out of range")
)

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// exponents are the ISO 4217 minor-unit digits that differ from 2.
var exponents = map[string]int{"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}

// Exponent returns the number of minor-unit digits of a currency.
func Exponent(currency string) int {
	if e, ok := exponents[currency]; ok {
		return e
	}
	return 2
}

// ValidateCurrency returns ErrBadCurrency unless c is three capital
// letters.
func ValidateCurrency(c string) error {
	if !currencyCode.MatchString(c) {
		return fmt.Errorf("%w: %q", ErrBadCurrency, c)
	}
	return nil
}

// ParseMoney parses a decimal amount ("12.5", "-0.07", "100") in a
// currency, exactly: "0.1" is 10 cents, and more decimals than the currency
// has is an error, not a rounding.
func ParseMoney(amount, currency string) (Money, error) {
	if err := ValidateCurrency(currency); err != nil {
		return Money{}, err
	}
	s := strings.TrimSpace(amount)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	whole, frac, _ := strings.Cut(s, ".")
	exp := Exponent(currency)
	if whole == "" && frac == "" || len(frac) > exp || strings.ContainsAny(whole+frac, "+-") {
		return Money{}, fmt.Errorf("%w: %q in %s (at most %d decimals)", ErrBadAmount, amount, currency, exp)
	}
	frac += strings.Repeat("0", exp-len(frac))
	digits := whole + frac
	if digits == "" {
		digits = "0"
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return Money{}, fmt.Errorf("%w: %q in %s", ErrBadAmount, amount, currency)
	}
	if neg {
		n = -n
	}
	return Money{Minor: n, Currency: currency}, nil
}

// MustMoney is ParseMoney for amounts written in code; it panics on a bad
// one.
func MustMoney(amount, currency string) Money {
	m, err := ParseMoney(amount, currency)
	if err != nil {
		panic(err)
	}
	return m
}

// String formats m as "12.50 EUR".
func (m Money) String() string {
	exp := Exponent(m.Currency)
	n := m.Minor
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	if exp == 0 {
		return fmt.Sprintf("%s%d %s", sign, n, m.Currency)
	}
	p := int64(math.Pow10(exp))
	return fmt.Sprintf("%s%d.%0*d %s", sign, n/p, exp, n%p, m.Currency)
}

// Add returns m + o; the currencies must be the same.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, m.Currency, o.Currency)
	}
	s := m.Minor + o.Minor
	if (o.Minor > 0 && s < m.Minor) || (o.Minor < 0 && s > m.Minor) {
		return Money{}, ErrOverflow
	}
	return Money{Minor: s, Currency: m.Currency}, nil
}

// Sub returns m - o; the currencies must be the same.
func (m Money) Sub(o Money) (Money, error) {
	if o.Minor == math.MinInt64 {
		return Money{}, ErrOverflow
	}
	return m.Add(Money{Minor: -o.Minor, Currency: o.Currency})
}

// Neg returns -m.
func (m Money) Neg() Money { return Money{Minor: -m.Minor, Currency: m.Currency} }

// IsPositive reports whether m is more than zero.
func (m Money) IsPositive() bool { return m.Minor > 0 }

// IsNegative reports whether m is less than zero.
func (m Money) IsNegative() bool { return m.Minor < 0 }

// IsZero reports whether m is zero.
func (m Money) IsZero() bool { return m.Minor == 0 }

// Percent returns m × basisPoints / 10,000, rounded half away from zero:
// interest of 125 basis points (1.25 %) on 10.00 is 0.13.
func (m Money) Percent(basisPoints int64) (Money, error) {
	if m.Minor != 0 && (basisPoints > math.MaxInt64/abs(m.Minor)) {
		return Money{}, ErrOverflow
	}
	p := m.Minor * basisPoints
	q, r := p/10000, p%10000
	if abs(r)*2 >= 10000 {
		if p < 0 {
			q--
		} else {
			q++
		}
	}
	return Money{Minor: q, Currency: m.Currency}, nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
