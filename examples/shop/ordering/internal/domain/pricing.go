package domain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/eventual-go/eventual/examples/shop/kernel"
)

// Errors of pricing and of the order lines.
var (
	// ErrNoLines: an order or a checkout needs at least one line.
	ErrNoLines = errors.New("at least one line is required")
	// ErrInvalidQuantity: a quantity must be between 1 and MaxQuantity.
	ErrInvalidQuantity = fmt.Errorf("quantity must be between 1 and %d", MaxQuantity)
	// ErrMixedCurrencies: every line of an order is in one currency.
	ErrMixedCurrencies = errors.New("an order is priced in one currency")
	// ErrInvalidPrice: a unit price must be a valid, non-negative amount.
	ErrInvalidPrice = errors.New("invalid unit price")
	// ErrUnknownDiscountCode: the discount code is not one the shop has.
	ErrUnknownDiscountCode = errors.New("unknown discount code")
	// ErrInconsistentTotals: the totals do not add up from the lines.
	ErrInconsistentTotals = errors.New("totals are not consistent with the lines")
)

// MaxQuantity bounds the quantity of a line (and of a basket item), so
// that amounts never overflow.
const MaxQuantity = 10_000

// Item is a product and quantity to price, with the product's current
// unit price (from the local copy of the catalog).
type Item struct {
	ProductID string
	StoreID   string
	Name      string
	Quantity  int64
	UnitPrice kernel.Money
}

// Line is a priced line of an order.
type Line struct {
	ProductID string       `json:"product_id"`
	StoreID   string       `json:"store_id"`
	Name      string       `json:"name"`
	Quantity  int64        `json:"quantity"`
	UnitPrice kernel.Money `json:"unit_price"`
	Total     kernel.Money `json:"total"`
}

// Totals are an order's amounts: Total = Subtotal − Discount + Tax +
// Shipping.
type Totals struct {
	Subtotal kernel.Money `json:"subtotal"`
	Discount kernel.Money `json:"discount"`
	Tax      kernel.Money `json:"tax"`
	Shipping kernel.Money `json:"shipping"`
	Total    kernel.Money `json:"total"`
}

// Priced is what Pricing computes: the lines and the totals of an order.
type Priced struct {
	Lines        []Line
	Totals       Totals
	DiscountCode string
}

// Pricing prices orders. Its rules:
//
//   - Subtotal: the sum of the lines, each unit price × quantity.
//   - Discount: with the code "SAVE10" (case-insensitive), 10 % of the
//     subtotal; and, code or not, 5 % of every line of 10 units or more
//     (bulk). Both add up. Another non-empty code is ErrUnknownDiscountCode.
//   - Tax: the rate of the shipping address's country (TaxRates, in basis
//     points; DefaultTaxRate for the others) on the subtotal less the
//     discount. Shipping is not taxed.
//   - Shipping: Shipping.Cost (see ShippingCost).
//   - Total: subtotal − discount + tax + shipping.
//
// Each percentage rounds half away from zero to the minor unit
// (kernel.Money.Percent).
type Pricing struct {
	// TaxRates are the tax rates of countries, in basis points (2000 is
	// 20 %).
	TaxRates map[string]int64
	// DefaultTaxRate is the rate of the countries not in TaxRates.
	DefaultTaxRate int64
	// Shipping computes the shipping cost.
	Shipping ShippingCost
}

// Discount rules, in basis points.
const (
	// DiscountCodeSave10 takes CodeDiscountRate off the subtotal.
	DiscountCodeSave10 = "SAVE10"
	CodeDiscountRate   = 1000
	// BulkQuantity is the quantity from which a line gets BulkDiscountRate
	// off.
	BulkQuantity     = 10
	BulkDiscountRate = 500
)

// DefaultPricing is the shop's pricing: 20 % tax by default, 8 % in the
// US, 19 % in Germany, 20 % in France; DefaultShippingCost.
func DefaultPricing() Pricing {
	return Pricing{
		TaxRates:       map[string]int64{"US": 800, "DE": 1900, "FR": 2000},
		DefaultTaxRate: 2000,
		Shipping:       DefaultShippingCost(),
	}
}

// TaxRate returns the rate of country, in basis points.
func (p Pricing) TaxRate(country string) int64 {
	if r, ok := p.TaxRates[country]; ok {
		return r
	}
	return p.DefaultTaxRate
}

// NormalizeDiscountCode trims and upper-cases a code.
func NormalizeDiscountCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// Price prices items for an order shipped to country with an optional
// discount code. Errors: ErrNoLines, ErrInvalidQuantity, ErrInvalidPrice,
// ErrMixedCurrencies, ErrUnknownDiscountCode.
func (p Pricing) Price(items []Item, discountCode, country string) (Priced, error) {
	if len(items) == 0 {
		return Priced{}, ErrNoLines
	}
	code := NormalizeDiscountCode(discountCode)
	if code != "" && code != DiscountCodeSave10 {
		return Priced{}, fmt.Errorf("%w: %q", ErrUnknownDiscountCode, discountCode)
	}
	currency := items[0].UnitPrice.Currency
	out := Priced{Lines: make([]Line, len(items)), DiscountCode: code}
	subtotal, bulk := kernel.Zero(currency), kernel.Zero(currency)
	var units int64
	for i, it := range items {
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			return Priced{}, fmt.Errorf("%w: product %s has %d", ErrInvalidQuantity, it.ProductID, it.Quantity)
		}
		if err := it.UnitPrice.Validate(); err != nil || it.UnitPrice.Minor < 0 {
			return Priced{}, fmt.Errorf("%w: product %s at %s", ErrInvalidPrice, it.ProductID, it.UnitPrice)
		}
		if it.UnitPrice.Currency != currency {
			return Priced{}, fmt.Errorf("%w: %s and %s", ErrMixedCurrencies, currency, it.UnitPrice.Currency)
		}
		total := it.UnitPrice.Times(it.Quantity)
		out.Lines[i] = Line{ProductID: it.ProductID, StoreID: it.StoreID, Name: it.Name, Quantity: it.Quantity,
			UnitPrice: it.UnitPrice, Total: total}
		subtotal.Minor += total.Minor
		if it.Quantity >= BulkQuantity {
			bulk.Minor += total.Percent(BulkDiscountRate).Minor
		}
		units += it.Quantity
	}
	discount := bulk
	if code == DiscountCodeSave10 {
		discount.Minor += subtotal.Percent(CodeDiscountRate).Minor
	}
	taxable := kernel.Money{Minor: subtotal.Minor - discount.Minor, Currency: currency}
	tax := taxable.Percent(p.TaxRate(country))
	shipping := p.Shipping.Cost(country, units, subtotal)
	out.Totals = Totals{Subtotal: subtotal, Discount: discount, Tax: tax, Shipping: shipping,
		Total: kernel.Money{Minor: taxable.Minor + tax.Minor + shipping.Minor, Currency: currency}}
	return out, nil
}

// ShippingCost computes what shipping an order costs: a flat fee of the
// country's zone plus a fee per unit, free when the subtotal reaches
// FreeFrom. Amounts are in minor units of the order's currency.
type ShippingCost struct {
	// Zones maps countries to their zone; the others are in zone "world".
	Zones map[string]string
	// Fees are the fees of the zones; "world" must be there.
	Fees map[string]ZoneFee
	// FreeFrom is the subtotal (minor units) from which shipping is free.
	FreeFrom int64
}

// ZoneFee is the fee of a zone: Flat per order plus PerItem per unit.
type ZoneFee struct {
	Flat    int64
	PerItem int64
}

// The shipping zones.
const (
	ZoneEurope       = "europe"
	ZoneNorthAmerica = "north_america"
	ZoneWorld        = "world"
)

// DefaultShippingCost is the shop's: Europe 4.90 + 1.00 per unit, North
// America 9.90 + 1.50 per unit, the rest of the world 19.90 + 2.50 per
// unit; free from a subtotal of 100.00.
func DefaultShippingCost() ShippingCost {
	zones := map[string]string{"US": ZoneNorthAmerica, "CA": ZoneNorthAmerica}
	for _, c := range []string{"AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR",
		"HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK"} {
		zones[c] = ZoneEurope
	}
	return ShippingCost{
		Zones: zones,
		Fees: map[string]ZoneFee{
			ZoneEurope:       {Flat: 490, PerItem: 100},
			ZoneNorthAmerica: {Flat: 990, PerItem: 150},
			ZoneWorld:        {Flat: 1990, PerItem: 250},
		},
		FreeFrom: 10_000,
	}
}

// Zone returns the zone of country.
func (s ShippingCost) Zone(country string) string {
	if z, ok := s.Zones[country]; ok {
		return z
	}
	return ZoneWorld
}

// Cost returns the shipping cost of units to country for an order of
// subtotal, in subtotal's currency.
func (s ShippingCost) Cost(country string, units int64, subtotal kernel.Money) kernel.Money {
	if subtotal.Minor >= s.FreeFrom {
		return kernel.Zero(subtotal.Currency)
	}
	fee := s.Fees[s.Zone(country)]
	return kernel.Money{Minor: fee.Flat + fee.PerItem*units, Currency: subtotal.Currency}
}

// Check verifies the invariants of priced lines and totals: at least one
// line, quantities in range, one currency, each line's total its unit
// price × quantity, the subtotal their sum, and Total = Subtotal −
// Discount + Tax + Shipping with no negative part. Errors: ErrNoLines,
// ErrInvalidQuantity, ErrInvalidPrice, ErrMixedCurrencies,
// ErrInconsistentTotals.
func Check(lines []Line, t Totals) error {
	if len(lines) == 0 {
		return ErrNoLines
	}
	currency := t.Total.Currency
	var sum int64
	for _, l := range lines {
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return fmt.Errorf("%w: product %s has %d", ErrInvalidQuantity, l.ProductID, l.Quantity)
		}
		if l.UnitPrice.Validate() != nil || l.UnitPrice.Minor < 0 {
			return fmt.Errorf("%w: product %s", ErrInvalidPrice, l.ProductID)
		}
		if l.UnitPrice.Currency != currency || l.Total.Currency != currency {
			return fmt.Errorf("%w: product %s in %s, order in %s", ErrMixedCurrencies, l.ProductID, l.UnitPrice.Currency, currency)
		}
		if l.Total.Minor != l.UnitPrice.Minor*l.Quantity {
			return fmt.Errorf("%w: line of product %s", ErrInconsistentTotals, l.ProductID)
		}
		sum += l.Total.Minor
	}
	for _, m := range []kernel.Money{t.Subtotal, t.Discount, t.Tax, t.Shipping} {
		if m.Currency != currency {
			return fmt.Errorf("%w: totals in %s and %s", ErrMixedCurrencies, m.Currency, currency)
		}
		if m.Minor < 0 {
			return fmt.Errorf("%w: negative amount %s", ErrInconsistentTotals, m)
		}
	}
	switch {
	case t.Subtotal.Minor != sum:
		return fmt.Errorf("%w: subtotal %s, lines add up to %d", ErrInconsistentTotals, t.Subtotal, sum)
	case t.Discount.Minor > t.Subtotal.Minor:
		return fmt.Errorf("%w: discount %s above the subtotal", ErrInconsistentTotals, t.Discount)
	case t.Total.Minor != t.Subtotal.Minor-t.Discount.Minor+t.Tax.Minor+t.Shipping.Minor:
		return fmt.Errorf("%w: total %s", ErrInconsistentTotals, t.Total)
	}
	return nil
}
