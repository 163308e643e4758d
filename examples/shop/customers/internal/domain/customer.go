// Package domain is the customers context's model: the Customer aggregate
// and the rules of its contact details.
package domain

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
)

// Errors of the customer rules. The HTTP adapter maps them to statuses.
var (
	ErrInvalidName       = errors.New("a customer needs a name")
	ErrInvalidEmail      = errors.New("not an email address")
	ErrInvalidSMS        = errors.New("not an SMS number in international form (+ and 8 to 15 digits)")
	ErrAlreadyRegistered = errors.New("customer already registered")
	ErrNotRegistered     = errors.New("customer not registered")
)

// Events of the Customer, as stored.
type (
	// Registered: the customer signed up.
	Registered struct {
		Name      string `json:"name"`
		Email     string `json:"email"`
		SMSNumber string `json:"sms_number,omitempty"`
	}
	// ContactChanged: new email and SMS number.
	ContactChanged struct {
		Email     string `json:"email"`
		SMSNumber string `json:"sms_number,omitempty"`
	}
	// Enabled: the customer may order again.
	Enabled struct{}
	// Disabled: the customer may not order.
	Disabled struct {
		Reason string `json:"reason,omitempty"`
	}
)

// Register adds the events to a codec builder.
func Register(b *codec.Builder) {
	codec.Register[Registered](b, "customers.registered")
	codec.Register[ContactChanged](b, "customers.contact_changed")
	codec.Register[Enabled](b, "customers.enabled")
	codec.Register[Disabled](b, "customers.disabled")
}

// Customer is someone who shops.
type Customer struct {
	aggregate.Root
	Name      string
	Email     string
	SMSNumber string
	Enabled   bool
	// DisabledReason says why the customer may not order.
	DisabledReason string
}

// New returns an empty customer with the ID.
func New(id string) *Customer {
	c := &Customer{}
	c.SetID(id)
	return c
}

// Clone implements aggregate.Cloner: a customer holds only values.
func (c *Customer) Clone() *Customer { cp := *c; return &cp }

// Apply implements aggregate.Aggregate.
func (c *Customer) Apply(event any) error {
	switch e := event.(type) {
	case Registered:
		c.Name, c.Email, c.SMSNumber, c.Enabled = e.Name, e.Email, e.SMSNumber, true
	case ContactChanged:
		c.Email, c.SMSNumber = e.Email, e.SMSNumber
	case Enabled:
		c.Enabled, c.DisabledReason = true, ""
	case Disabled:
		c.Enabled, c.DisabledReason = false, e.Reason
	default:
		return fmt.Errorf("customer: unknown event %T", event)
	}
	return nil
}

func (c *Customer) registered() bool { return c.Name != "" }

// Register signs the customer up: a name, a valid email, and an optional
// SMS number.
func (c *Customer) Register(name, email, sms string) error {
	if c.registered() {
		return ErrAlreadyRegistered
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return ErrInvalidName
	}
	email, sms, err := checkContact(email, sms)
	if err != nil {
		return err
	}
	return aggregate.Record(c, Registered{Name: name, Email: email, SMSNumber: sms})
}

// ChangeContact replaces the email and SMS number.
func (c *Customer) ChangeContact(email, sms string) error {
	if !c.registered() {
		return ErrNotRegistered
	}
	email, sms, err := checkContact(email, sms)
	if err != nil {
		return err
	}
	if email == c.Email && sms == c.SMSNumber {
		return nil
	}
	return aggregate.Record(c, ContactChanged{Email: email, SMSNumber: sms})
}

// Enable lets the customer order; nothing happens if they may already.
func (c *Customer) Enable() error {
	if !c.registered() {
		return ErrNotRegistered
	}
	if c.Enabled {
		return nil
	}
	return aggregate.Record(c, Enabled{})
}

// Disable stops the customer from ordering; nothing happens if they may
// not already.
func (c *Customer) Disable(reason string) error {
	if !c.registered() {
		return ErrNotRegistered
	}
	if !c.Enabled {
		return nil
	}
	return aggregate.Record(c, Disabled{Reason: strings.TrimSpace(reason)})
}

// CanOrder tells whether the customer may place an order, and why not.
func (c *Customer) CanOrder() (bool, string) {
	switch {
	case !c.registered():
		return false, "unknown customer"
	case !c.Enabled:
		reason := "customer disabled"
		if c.DisabledReason != "" {
			reason += ": " + c.DisabledReason
		}
		return false, reason
	}
	return true, ""
}

var smsRE = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// checkContact normalizes and checks an email and an optional SMS number.
func checkContact(email, sms string) (string, string, error) {
	addr, err := mail.ParseAddress(strings.TrimSpace(email))
	if err != nil || addr.Name != "" || !strings.Contains(addr.Address, ".") {
		return "", "", fmt.Errorf("%w: %q", ErrInvalidEmail, email)
	}
	sms = strings.ReplaceAll(strings.TrimSpace(sms), " ", "")
	if sms != "" && !smsRE.MatchString(sms) {
		return "", "", fmt.Errorf("%w: %q", ErrInvalidSMS, sms)
	}
	return strings.ToLower(addr.Address), sms, nil
}
