// Package adapters connects the customers use cases to the outside: the
// HTTP endpoints and the command handler.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual/examples/shop/customers/internal/app"
	"github.com/eventual-go/eventual/examples/shop/customers/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

// Customer is a customer as the API shows it.
type Customer struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Email          string `json:"email"`
	SMSNumber      string `json:"sms_number,omitempty"`
	Enabled        bool   `json:"enabled"`
	DisabledReason string `json:"disabled_reason,omitempty"`
	Version        uint64 `json:"version"`
}

func view(c *domain.Customer) Customer {
	return Customer{ID: c.ID(), Name: c.Name, Email: c.Email, SMSNumber: c.SMSNumber, Enabled: c.Enabled,
		DisabledReason: c.DisabledReason, Version: c.Version()}
}

// RegisterRequest signs a customer up.
type RegisterRequest struct {
	Name      string `json:"name" required:"true" example:"Ada Lovelace"`
	Email     string `json:"email" required:"true" format:"email" example:"ada@example.com"`
	SMSNumber string `json:"sms_number,omitempty" description:"International form: + and 8 to 15 digits." example:"+33612345678"`
}

// Validate checks the fields before the domain does.
func (r *RegisterRequest) Validate() error {
	var c platform.Check
	c.Require("name", strings.TrimSpace(r.Name) != "", "is required")
	c.Require("email", r.Email != "", "is required")
	return c.Err()
}

// ContactRequest changes a customer's contact.
type ContactRequest struct {
	ID        string `path:"id"`
	Email     string `json:"email" required:"true" format:"email"`
	SMSNumber string `json:"sms_number,omitempty"`
}

// DisableRequest disables a customer.
type DisableRequest struct {
	ID     string `path:"id"`
	Reason string `json:"reason,omitempty"`
}

// ByID names a customer in the path.
type ByID struct {
	ID string `path:"id"`
}

// Routes registers the endpoints.
func Routes(r *platform.Router, a *app.App) {
	const tag = "customers"
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/customers", Summary: "Register a customer", Tag: tag, Status: 201, Errors: []int{409}},
		func(ctx context.Context, req RegisterRequest) (Customer, error) {
			c, err := a.Register(ctx, uuid.Must(uuid.NewV7()).String(), req.Name, req.Email, req.SMSNumber)
			return viewOr(c, err)
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/customers/{id}", Summary: "A customer", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByID) (Customer, error) {
			c, err := a.Get(ctx, req.ID)
			return viewOr(c, err)
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/customers/{id}/contact", Summary: "Change a customer's email and SMS number", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ContactRequest) (Customer, error) {
			c, err := a.ChangeContact(ctx, req.ID, req.Email, req.SMSNumber)
			return viewOr(c, err)
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/customers/{id}/enable", Summary: "Let a customer order", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByID) (Customer, error) {
			c, err := a.Enable(ctx, req.ID)
			return viewOr(c, err)
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/customers/{id}/disable", Summary: "Stop a customer from ordering", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req DisableRequest) (Customer, error) {
			c, err := a.Disable(ctx, req.ID, req.Reason)
			return viewOr(c, err)
		})
}

// viewOr shows c, or maps the domain's errors to the HTTP ones.
func viewOr(c *domain.Customer, err error) (Customer, error) {
	switch {
	case err == nil:
		return view(c), nil
	case errors.Is(err, domain.ErrInvalidName):
		return Customer{}, &platform.ValidationError{Fields: []platform.FieldError{{Field: "name", Message: err.Error()}}}
	case errors.Is(err, domain.ErrInvalidEmail):
		return Customer{}, &platform.ValidationError{Fields: []platform.FieldError{{Field: "email", Message: err.Error()}}}
	case errors.Is(err, domain.ErrInvalidSMS):
		return Customer{}, &platform.ValidationError{Fields: []platform.FieldError{{Field: "sms_number", Message: err.Error()}}}
	case errors.Is(err, domain.ErrNotRegistered):
		return Customer{}, fmt.Errorf("%w: %w", platform.ErrNotFound, err)
	}
	return Customer{}, err
}
