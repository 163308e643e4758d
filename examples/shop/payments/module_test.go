package payments_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/payments"
	"github.com/eventual-go/eventual/examples/shop/payments/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/platform/platformtest"
)

type payment struct {
	PaymentID  string       `json:"payment_id"`
	OrderID    string       `json:"order_id"`
	CustomerID string       `json:"customer_id"`
	Amount     kernel.Money `json:"amount"`
	Status     string       `json:"status"`
	Reason     string       `json:"reason"`
	InvoiceID  string       `json:"invoice_id"`
	History    []struct {
		Status string `json:"status"`
	} `json:"history"`
	Version uint64 `json:"version"`
}

type invoice struct {
	ID         string       `json:"id"`
	OrderID    string       `json:"order_id"`
	CustomerID string       `json:"customer_id"`
	Amount     kernel.Money `json:"amount"`
}

var eur = kernel.Money{Minor: 42_00, Currency: "EUR"}

func request(t *testing.T, h *platformtest.Harness, subject, typ, orderID string, v any) (string, api.PaymentReply) {
	t.Helper()
	d := h.Request(subject, typ, orderID, v)
	var r api.PaymentReply
	if err := json.Unmarshal(d.Data, &r); err != nil {
		t.Fatal(err)
	}
	return d.Type, r
}

func authorize(t *testing.T, h *platformtest.Harness, orderID string, amount kernel.Money, token string) (string, api.PaymentReply) {
	t.Helper()
	return request(t, h, api.SubjectAuthorizePayment, api.TypeAuthorizePayment, orderID,
		api.AuthorizePayment{OrderID: orderID, CustomerID: "c-1", Amount: amount, Token: token})
}

func capture(t *testing.T, h *platformtest.Harness, orderID string) (string, api.PaymentReply) {
	t.Helper()
	return request(t, h, api.SubjectCapturePayment, api.TypeCapturePayment, orderID, api.CapturePayment{OrderID: orderID})
}

func cancel(t *testing.T, h *platformtest.Harness, orderID string) (string, api.PaymentReply) {
	t.Helper()
	return request(t, h, api.SubjectCancelPayment, api.TypeCancelPayment, orderID, api.CancelPayment{OrderID: orderID, Reason: "changed my mind"})
}

func TestAuthorizeCaptureRefund(t *testing.T) {
	h := platformtest.Start(t, payments.Module{})
	events := h.Collect(api.EventsSubjects)

	typ, r := authorize(t, h, "o-1", eur, "tok_visa")
	if typ != api.TypePaymentAuthorizedReply || r.PaymentID == "" || r.Status != api.PaymentAuthorized || r.OrderID != "o-1" {
		t.Fatalf("authorize: %s %+v", typ, r)
	}
	// Again, even with a token that would be declined: the same answer.
	if typ, again := authorize(t, h, "o-1", eur, api.TokenDecline); typ != api.TypePaymentAuthorizedReply || again != r {
		t.Errorf("authorize again: %s %+v, want %+v", typ, again, r)
	}
	// Capture, twice.
	typ, c := capture(t, h, "o-1")
	if typ != api.TypePaymentCapturedReply || c.Status != api.PaymentCaptured || c.PaymentID != r.PaymentID {
		t.Errorf("capture: %s %+v", typ, c)
	}
	if typ, again := capture(t, h, "o-1"); typ != api.TypePaymentCapturedReply || again != c {
		t.Errorf("capture again: %s %+v", typ, again)
	}
	var p payment
	h.Get("/api/payments/o-1", &p, 200)
	if p.PaymentID != r.PaymentID || p.OrderID != "o-1" || p.CustomerID != "c-1" || p.Amount != eur ||
		p.Status != api.PaymentCaptured || p.InvoiceID == "" || len(p.History) != 2 || p.Version != 3 {
		t.Errorf("GET payment %+v", p)
	}

	// The invoice, once the read model has it.
	var page platform.Page[invoice]
	h.Eventually("the invoice is listed", func() bool {
		h.Get("/api/invoices?customer_id=c-1", &page, 200)
		return len(page.Items) == 1
	})
	inv := page.Items[0]
	if inv.ID != p.InvoiceID || inv.OrderID != "o-1" || inv.CustomerID != "c-1" || inv.Amount != eur || page.NextCursor != "" {
		t.Errorf("invoices %+v", page)
	}
	var got invoice
	h.Get("/api/invoices/"+inv.ID, &got, 200)
	if got != inv {
		t.Errorf("GET invoice %+v, want %+v", got, inv)
	}
	h.Get("/api/invoices/nope", nil, 404)
	h.Get("/api/invoices?customer_id=someone-else", &page, 200)
	if len(page.Items) != 0 {
		t.Errorf("another customer's invoices: %+v", page)
	}

	// Cancel a captured payment: refunded, twice the same.
	if typ, r := cancel(t, h, "o-1"); typ != api.TypePaymentCancelledReply || r.Status != api.PaymentRefunded {
		t.Errorf("cancel: %s %+v", typ, r)
	}
	if typ, r := cancel(t, h, "o-1"); typ != api.TypePaymentCancelledReply || r.Status != api.PaymentRefunded {
		t.Errorf("cancel again: %s %+v", typ, r)
	}
	// A refunded payment can be captured no more.
	if typ, r := capture(t, h, "o-1"); typ != api.TypeCaptureFailedReply || r.Reason != "payment not authorized: payment refunded" {
		t.Errorf("capture refunded: %s %+v", typ, r)
	}

	h.Eventually("the integration events", func() bool { return len(events.All()) == 4 })
	want := []string{api.TypePaymentChanged, api.TypePaymentChanged, api.TypeInvoiceIssued, api.TypePaymentChanged}
	statuses := []string{api.PaymentAuthorized, api.PaymentCaptured, "", api.PaymentRefunded}
	for i, d := range events.All() {
		if d.Type != want[i] || d.Key != "o-1" {
			t.Errorf("event %d: %s key %s, want %s", i, d.Type, d.Key, want[i])
			continue
		}
		if d.Type == api.TypePaymentChanged {
			var e api.PaymentChanged
			_ = json.Unmarshal(d.Data, &e)
			if e.Status != statuses[i] || e.PaymentID != r.PaymentID || e.Amount != eur || e.CustomerID != "c-1" {
				t.Errorf("event %d: %+v", i, e)
			}
		} else {
			var e api.InvoiceIssued
			_ = json.Unmarshal(d.Data, &e)
			if e.InvoiceID != inv.ID || e.OrderID != "o-1" || e.Amount != eur {
				t.Errorf("invoice issued: %+v", e)
			}
		}
	}
}

func TestDeclinedVoidedAndNothing(t *testing.T) {
	h := platformtest.Start(t, payments.Module{})

	// Declined by the test token, and stays so.
	for range 2 {
		if typ, r := authorize(t, h, "o-d", eur, api.TokenDecline); typ != api.TypePaymentDeclinedReply ||
			r.Status != api.PaymentDeclined || r.Reason != "card declined" || r.PaymentID == "" {
			t.Errorf("authorize tok_decline: %s %+v", typ, r)
		}
	}
	if typ, r := authorize(t, h, "o-d", eur, "tok_visa"); typ != api.TypePaymentDeclinedReply || r.Status != api.PaymentDeclined {
		t.Errorf("authorize a declined payment with another token: %s %+v", typ, r)
	}
	if typ, r := capture(t, h, "o-d"); typ != api.TypeCaptureFailedReply || r.Reason != "payment not authorized: payment declined" {
		t.Errorf("capture declined: %s %+v", typ, r)
	}
	if typ, r := cancel(t, h, "o-d"); typ != api.TypePaymentCancelledReply || r.Status != "" {
		t.Errorf("cancel declined: %s %+v", typ, r)
	}
	var p payment
	h.Get("/api/payments/o-d", &p, 200)
	if p.Status != api.PaymentDeclined || p.Reason != "card declined" || p.Version != 1 {
		t.Errorf("declined payment %+v", p)
	}

	// Over the limit.
	if typ, r := authorize(t, h, "o-big", kernel.Money{Minor: api.MaxAmount + 1, Currency: "EUR"}, "tok_visa"); typ != api.TypePaymentDeclinedReply ||
		r.Reason != "amount over limit" {
		t.Errorf("authorize over the limit: %s %+v", typ, r)
	}
	if typ, _ := authorize(t, h, "o-max", kernel.Money{Minor: api.MaxAmount, Currency: "EUR"}, "tok_visa"); typ != api.TypePaymentAuthorizedReply {
		t.Errorf("authorize the limit: %s", typ)
	}

	// Voided, twice the same; then it cannot be captured.
	authorize(t, h, "o-v", eur, "tok_visa")
	for range 2 {
		if typ, r := cancel(t, h, "o-v"); typ != api.TypePaymentCancelledReply || r.Status != api.PaymentVoided {
			t.Errorf("cancel authorized: %s %+v", typ, r)
		}
	}
	if typ, r := capture(t, h, "o-v"); typ != api.TypeCaptureFailedReply || r.Status != api.PaymentVoided {
		t.Errorf("capture voided: %s %+v", typ, r)
	}
	if typ, r := authorize(t, h, "o-v", eur, "tok_visa"); typ != api.TypePaymentDeclinedReply || r.Status != api.PaymentVoided {
		t.Errorf("authorize voided: %s %+v", typ, r)
	}

	// Nothing to capture or cancel.
	if typ, r := capture(t, h, "o-none"); typ != api.TypeCaptureFailedReply || r.Reason != "payment not authorized: no payment authorized" {
		t.Errorf("capture nothing: %s %+v", typ, r)
	}
	if typ, r := cancel(t, h, "o-none"); typ != api.TypePaymentCancelledReply || r.Status != "" || r.PaymentID != "" {
		t.Errorf("cancel nothing: %s %+v", typ, r)
	}
	h.Get("/api/payments/o-none", nil, 404)
}

func TestTimeoutTokenIsNeverAnswered(t *testing.T) {
	h := platformtest.Start(t, payments.Module{})
	replies := h.Collect("test.noreply.payments")
	m, err := platform.Message(context.Background(), api.SubjectAuthorizePayment, api.TypeAuthorizePayment, "o-t",
		api.AuthorizePayment{OrderID: "o-t", CustomerID: "c-1", Amount: eur, Token: api.TokenTimeout})
	if err != nil {
		t.Fatal(err)
	}
	m.ReplyTo = "test.noreply.payments"
	if err := h.Transport.Publish(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	// Commands of one order are handled in order: once the next one is
	// answered, the first was handled — and recorded nothing.
	if typ, r := cancel(t, h, "o-t"); typ != api.TypePaymentCancelledReply || r.Status != "" {
		t.Errorf("cancel after the timeout token: %s %+v", typ, r)
	}
	h.Get("/api/payments/o-t", nil, 404)
	if got := replies.All(); len(got) != 0 {
		t.Errorf("tok_timeout answered: %+v", got)
	}
	// The saga's retry with the same token is not answered either; a
	// later one with a good token is.
	if typ, _ := authorize(t, h, "o-t", eur, "tok_visa"); typ != api.TypePaymentAuthorizedReply {
		t.Errorf("authorize after the timeout token: %s", typ)
	}
}

func TestInvoicePages(t *testing.T) {
	h := platformtest.Start(t, payments.Module{})
	for _, id := range []string{"o-1", "o-2", "o-3"} {
		authorize(t, h, id, eur, "tok_visa")
		capture(t, h, id)
	}
	var page platform.Page[invoice]
	h.Eventually("three invoices", func() bool {
		h.Get("/api/invoices", &page, 200)
		return len(page.Items) == 3
	})
	h.Get("/api/invoices?limit=2", &page, 200)
	if len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("first page %+v", page)
	}
	first := page
	var second platform.Page[invoice]
	h.Get("/api/invoices?limit=2&cursor="+first.NextCursor, &second, 200)
	if len(second.Items) != 1 || second.NextCursor != "" || first.Items[0].ID >= first.Items[1].ID || second.Items[0].ID <= first.Items[1].ID {
		t.Errorf("second page %+v after %+v", second, first)
	}
	var p platform.Problem
	if status := h.Do("GET", "/api/invoices?limit=0x", nil, &p); status != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "limit" {
		t.Errorf("bad limit: %d %+v", status, p)
	}
	if status := h.Do("GET", "/api/invoices?cursor=nope", nil, &p); status != 400 || p.Errors[0].Field != "cursor" {
		t.Errorf("bad cursor: %d %+v", status, p)
	}
}
