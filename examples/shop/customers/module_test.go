package customers_test

import (
	"encoding/json"
	"testing"

	"github.com/eventual-go/eventual/examples/shop/customers"
	"github.com/eventual-go/eventual/examples/shop/customers/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/platform/platformtest"
)

type customer struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Email          string `json:"email"`
	SMSNumber      string `json:"sms_number"`
	Enabled        bool   `json:"enabled"`
	DisabledReason string `json:"disabled_reason"`
}

func TestCustomersOverHTTPAndCommands(t *testing.T) {
	h := platformtest.Start(t, customers.Module{})
	events := h.Collect(api.EventsSubjects)

	var c customer
	h.Post("/api/customers", map[string]string{"name": "Ada", "email": "Ada@Example.com", "sms_number": "+33612345678"}, &c, 201)
	if c.ID == "" || c.Email != "ada@example.com" || !c.Enabled {
		t.Fatalf("registered %+v", c)
	}
	var got customer
	h.Get("/api/customers/"+c.ID, &got, 200)
	if got != c {
		t.Errorf("GET %+v, want %+v", got, c)
	}
	h.Get("/api/customers/nope", nil, 404)

	var p platform.Problem
	if status := h.Do("POST", "/api/customers", map[string]string{"name": "Bob", "email": "not-an-email"}, &p); status != 400 ||
		len(p.Errors) != 1 || p.Errors[0].Field != "email" {
		t.Errorf("bad email: %d %+v", status, p)
	}
	if status := h.Do("POST", "/api/customers", map[string]string{}, &p); status != 400 || len(p.Errors) != 2 {
		t.Errorf("empty: %d %+v", status, p)
	}

	got = customer{}
	h.Post("/api/customers/"+c.ID+"/contact", map[string]string{"email": "ada@new.example"}, &got, 200)
	if got.Email != "ada@new.example" || got.SMSNumber != "" {
		t.Errorf("contact %+v", got)
	}

	authorize := func(id string) (string, api.AuthorizeReply) {
		d := h.Request(api.SubjectAuthorizeCustomer, api.TypeAuthorizeCustomer, id, api.AuthorizeCustomer{CustomerID: id, OrderID: "o-1"})
		var r api.AuthorizeReply
		if err := json.Unmarshal(d.Data, &r); err != nil {
			t.Fatal(err)
		}
		return d.Type, r
	}
	if typ, r := authorize(c.ID); typ != api.TypeCustomerAuthorized || r.OrderID != "o-1" {
		t.Errorf("authorize: %s %+v", typ, r)
	}
	h.Post("/api/customers/"+c.ID+"/disable", map[string]string{"reason": "chargebacks"}, &got, 200)
	if typ, r := authorize(c.ID); typ != api.TypeCustomerNotAuthorized || r.Reason != "customer disabled: chargebacks" {
		t.Errorf("authorize a disabled customer: %s %+v", typ, r)
	}
	if typ, r := authorize("nobody"); typ != api.TypeCustomerNotAuthorized || r.Reason != "unknown customer" {
		t.Errorf("authorize an unknown customer: %s %+v", typ, r)
	}
	h.Post("/api/customers/"+c.ID+"/enable", nil, &got, 200)
	if typ, _ := authorize(c.ID); typ != api.TypeCustomerAuthorized {
		t.Errorf("authorize after enable: %s", typ)
	}

	h.Eventually("the integration events", func() bool { return len(events.All()) == 4 })
	want := []string{api.TypeCustomerRegistered, api.TypeContactChanged, api.TypeCustomerDisabled, api.TypeCustomerEnabled}
	for i, d := range events.All() {
		if d.Type != want[i] || d.Key != c.ID {
			t.Errorf("event %d: %s key %s, want %s", i, d.Type, d.Key, want[i])
		}
	}
	var reg api.CustomerRegistered
	_ = json.Unmarshal(events.All()[0].Data, &reg)
	if reg.CustomerID != c.ID || reg.Name != "Ada" || reg.SMSNumber != "+33612345678" {
		t.Errorf("registered event %+v", reg)
	}
}
