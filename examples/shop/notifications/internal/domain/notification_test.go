package domain_test

import (
	"context"
	"errors"
	"testing"

	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/notifications/internal/domain"
)

func TestNotifications(t *testing.T) {
	msg := domain.Confirmed("o-1", kernel.Money{Minor: 12_34, Currency: "EUR"}, "TRK0123456789")
	if msg.Body != "Your order o-1 of EUR 12.34 is confirmed. Tracking number: TRK0123456789." {
		t.Errorf("body %q", msg.Body)
	}
	ns, err := msg.Notifications("m-1", domain.Contact{CustomerID: "c-1", Name: "Ada", Email: "ada@example.com", SMSNumber: "+33612345678"})
	if err != nil || len(ns) != 2 {
		t.Fatalf("%v %+v", err, ns)
	}
	want := []domain.Notification{
		{ID: "m-1-email", CustomerID: "c-1", OrderID: "o-1", Channel: "email", To: "ada@example.com", Subject: msg.Subject, Body: "Hello Ada,\n\n" + msg.Body},
		{ID: "m-1-sms", CustomerID: "c-1", OrderID: "o-1", Channel: "sms", To: "+33612345678", Body: msg.Body},
	}
	for i := range want {
		if ns[i] != want[i] {
			t.Errorf("notification %d: %+v, want %+v", i, ns[i], want[i])
		}
	}
	if ns, _ := msg.Notifications("m-1", domain.Contact{CustomerID: "c-1", Email: "a@b.co"}); len(ns) != 1 {
		t.Errorf("without an SMS number: %+v", ns)
	}
	if _, err := msg.Notifications("m-1", domain.Contact{CustomerID: "c-1"}); !errors.Is(err, domain.ErrUnknownCustomer) {
		t.Errorf("unknown customer: %v", err)
	}
	if got := domain.Rejected("o-2", "out of stock").Body; got != "We could not fulfill your order o-2: out of stock." {
		t.Errorf("rejected %q", got)
	}
}

func TestRecordingSender(t *testing.T) {
	var s domain.RecordingSender
	ctx := context.Background()
	if err := s.Send(ctx, domain.Notification{Channel: domain.ChannelEmail, To: "fail@example.com"}); !errors.Is(err, domain.ErrSendFailed) {
		t.Errorf("fail@: %v", err)
	}
	for _, n := range []domain.Notification{{Channel: domain.ChannelEmail, To: "ada@example.com"}, {Channel: domain.ChannelSMS, To: "+33612345678"}} {
		if err := s.Send(ctx, n); err != nil {
			t.Errorf("%+v: %v", n, err)
		}
	}
}
