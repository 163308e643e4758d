package domain_test

import (
	"errors"
	"testing"

	"github.com/eventual-go/eventual/aggregate/aggregatetest"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/payments/api"
	"github.com/eventual-go/eventual/examples/shop/payments/internal/domain"
)

var eur = kernel.Money{Minor: 12_50, Currency: "EUR"}

func authorized() domain.Authorized {
	return domain.Authorized{PaymentID: "p-1", CustomerID: "c-1", Amount: eur}
}

func TestAuthorize(t *testing.T) {
	for name, tt := range map[string]struct {
		amount kernel.Money
		token  string
		want   any
	}{
		"ok":          {eur, "tok_visa", authorized()},
		"limit":       {kernel.Money{Minor: api.MaxAmount, Currency: "EUR"}, "tok_visa", domain.Authorized{PaymentID: "p-1", CustomerID: "c-1", Amount: kernel.Money{Minor: api.MaxAmount, Currency: "EUR"}}},
		"declined":    {eur, api.TokenDecline, domain.Declined{PaymentID: "p-1", CustomerID: "c-1", Amount: eur, Reason: domain.ReasonCardDeclined}},
		"over limit":  {kernel.Money{Minor: api.MaxAmount + 1, Currency: "EUR"}, "tok_visa", domain.Declined{PaymentID: "p-1", CustomerID: "c-1", Amount: kernel.Money{Minor: api.MaxAmount + 1, Currency: "EUR"}, Reason: domain.ReasonOverLimit}},
		"no currency": {kernel.Money{Minor: 1}, "tok_visa", domain.Declined{PaymentID: "p-1", CustomerID: "c-1", Amount: kernel.Money{Minor: 1}, Reason: domain.ReasonInvalidAmount}},
		"negative":    {kernel.Money{Minor: -1, Currency: "EUR"}, "tok_visa", domain.Declined{PaymentID: "p-1", CustomerID: "c-1", Amount: kernel.Money{Minor: -1, Currency: "EUR"}, Reason: domain.ReasonInvalidAmount}},
	} {
		t.Run(name, func(t *testing.T) {
			aggregatetest.Given(t, domain.New("o-1")).
				When(func(p *domain.Payment) error { return p.Authorize("p-1", "c-1", tt.amount, tt.token) }).
				Then(tt.want)
		})
	}
	// Asked again, whatever the token: nothing changes.
	aggregatetest.Given(t, domain.New("o-1"), authorized()).
		When(func(p *domain.Payment) error { return p.Authorize("p-2", "c-1", eur, api.TokenDecline) }).
		Then().
		ThenState(func(t testing.TB, p *domain.Payment) {
			if p.Status != api.PaymentAuthorized || p.PaymentID != "p-1" {
				t.Errorf("payment %+v", p)
			}
		})
	aggregatetest.Given(t, domain.New("o-1"), domain.Declined{PaymentID: "p-1", Reason: domain.ReasonCardDeclined}).
		When(func(p *domain.Payment) error { return p.Authorize("p-2", "c-1", eur, "tok_visa") }).
		Then().
		ThenState(func(t testing.TB, p *domain.Payment) {
			if p.Status != api.PaymentDeclined || p.Reason != domain.ReasonCardDeclined {
				t.Errorf("payment %+v", p)
			}
		})
}

func TestCapture(t *testing.T) {
	aggregatetest.Given(t, domain.New("o-1"), authorized()).
		When(func(p *domain.Payment) error { return p.Capture("i-1") }).
		Then(domain.Captured{}, domain.InvoiceIssued{InvoiceID: "i-1", CustomerID: "c-1", Amount: eur}).
		ThenState(func(t testing.TB, p *domain.Payment) {
			if p.Status != api.PaymentCaptured || p.InvoiceID != "i-1" || len(p.History) != 2 {
				t.Errorf("payment %+v", p)
			}
		})
	aggregatetest.Given(t, domain.New("o-1"), authorized(), domain.Captured{}, domain.InvoiceIssued{InvoiceID: "i-1"}).
		When(func(p *domain.Payment) error { return p.Capture("i-2") }).
		Then()
	for name, history := range map[string][]any{
		"none":     nil,
		"declined": {domain.Declined{Reason: "card declined"}},
		"voided":   {authorized(), domain.Voided{}},
		"refunded": {authorized(), domain.Captured{}, domain.Refunded{}},
	} {
		t.Run(name, func(t *testing.T) {
			aggregatetest.Given(t, domain.New("o-1"), history...).
				When(func(p *domain.Payment) error { return p.Capture("i-1") }).
				ThenError(domain.ErrNotAuthorized)
		})
	}
	err := domain.New("o-1").Capture("i-1")
	if !errors.Is(err, domain.ErrNotAuthorized) || err.Error() != "payment not authorized: no payment authorized" {
		t.Errorf("capture nothing: %v", err)
	}
}

func TestCancel(t *testing.T) {
	aggregatetest.Given(t, domain.New("o-1"), authorized()).
		When(func(p *domain.Payment) error { return p.Cancel("out of stock") }).
		Then(domain.Voided{Reason: "out of stock"}).
		ThenState(func(t testing.TB, p *domain.Payment) {
			if p.CancelledStatus() != api.PaymentVoided {
				t.Errorf("status %q", p.CancelledStatus())
			}
		})
	aggregatetest.Given(t, domain.New("o-1"), authorized(), domain.Captured{}, domain.InvoiceIssued{InvoiceID: "i-1"}).
		When(func(p *domain.Payment) error { return p.Cancel("order cancelled") }).
		Then(domain.Refunded{Reason: "order cancelled"}).
		ThenState(func(t testing.TB, p *domain.Payment) {
			if p.CancelledStatus() != api.PaymentRefunded {
				t.Errorf("status %q", p.CancelledStatus())
			}
		})
	for name, history := range map[string][]any{
		"none":     nil,
		"declined": {domain.Declined{Reason: "card declined"}},
		"voided":   {authorized(), domain.Voided{}},
		"refunded": {authorized(), domain.Captured{}, domain.Refunded{}},
	} {
		t.Run(name, func(t *testing.T) {
			aggregatetest.Given(t, domain.New("o-1"), history...).
				When(func(p *domain.Payment) error { return p.Cancel("again") }).
				Then()
		})
	}
}

func TestSnapshot(t *testing.T) {
	p := domain.New("o-1")
	if err := p.Authorize("p-1", "c-1", eur, "tok_visa"); err != nil {
		t.Fatal(err)
	}
	data, err := p.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	q := domain.New("o-1")
	if err := q.UnmarshalSnapshot(data); err != nil {
		t.Fatal(err)
	}
	if q.PaymentID != "p-1" || q.Status != api.PaymentAuthorized || q.Amount != eur || len(q.History) != 1 {
		t.Errorf("restored %+v", q)
	}
}

// Clones share nothing a change writes (repositories cache them).
func TestCloneSharesNoHistory(t *testing.T) {
	p := domain.New("p-1")
	p.History = append(make([]domain.StatusChange, 0, 4), domain.StatusChange{Status: "a"})
	c := p.Clone()
	c.History[0].Status = "changed"
	c.History = append(c.History, domain.StatusChange{Status: "b"})
	if len(p.History) != 1 || p.History[0].Status != "a" {
		t.Fatalf("original changed through its clone: %+v", p.History)
	}
}
