package domain_test

import (
	"testing"

	"github.com/eventual-go/eventual/aggregate/aggregatetest"
	"github.com/eventual-go/eventual/examples/shop/customers/internal/domain"
)

func TestRegister(t *testing.T) {
	aggregatetest.Given(t, domain.New("c-1")).
		When(func(c *domain.Customer) error { return c.Register(" Ada ", "Ada@Example.com", "+33 612345678") }).
		Then(domain.Registered{Name: "Ada", Email: "ada@example.com", SMSNumber: "+33612345678"})
	for name, tt := range map[string]struct {
		name, email, sms string
		err              error
	}{
		"no name":     {"", "a@b.co", "", domain.ErrInvalidName},
		"bad email":   {"Ada", "ada", "", domain.ErrInvalidEmail},
		"named email": {"Ada", "Ada <ada@b.co>", "", domain.ErrInvalidEmail},
		"bad sms":     {"Ada", "a@b.co", "0612", domain.ErrInvalidSMS},
		"local sms":   {"Ada", "a@b.co", "0612345678", domain.ErrInvalidSMS},
	} {
		t.Run(name, func(t *testing.T) {
			aggregatetest.Given(t, domain.New("c-1")).
				When(func(c *domain.Customer) error { return c.Register(tt.name, tt.email, tt.sms) }).
				ThenError(tt.err)
		})
	}
	aggregatetest.Given(t, domain.New("c-1"), domain.Registered{Name: "Ada", Email: "a@b.co"}).
		When(func(c *domain.Customer) error { return c.Register("Ada", "a@b.co", "") }).
		ThenError(domain.ErrAlreadyRegistered)
}

func TestContactAndStatus(t *testing.T) {
	reg := domain.Registered{Name: "Ada", Email: "a@b.co"}
	aggregatetest.Given(t, domain.New("c-1"), reg).
		When(func(c *domain.Customer) error { return c.ChangeContact("new@b.co", "+4915112345678") }).
		Then(domain.ContactChanged{Email: "new@b.co", SMSNumber: "+4915112345678"})
	aggregatetest.Given(t, domain.New("c-1"), reg).
		When(func(c *domain.Customer) error { return c.ChangeContact("a@b.co", "") }).
		Then() // no change, no event
	aggregatetest.Given(t, domain.New("c-1")).
		When(func(c *domain.Customer) error { return c.Disable("") }).
		ThenError(domain.ErrNotRegistered)
	aggregatetest.Given(t, domain.New("c-1"), reg).
		When(func(c *domain.Customer) error { return c.Disable("fraud") }).
		Then(domain.Disabled{Reason: "fraud"}).
		ThenState(func(t testing.TB, c *domain.Customer) {
			if ok, why := c.CanOrder(); ok || why != "customer disabled: fraud" {
				t.Errorf("CanOrder = %v, %q", ok, why)
			}
		})
	aggregatetest.Given(t, domain.New("c-1"), reg, domain.Disabled{}).
		When(func(c *domain.Customer) error { return c.Enable() }).
		Then(domain.Enabled{}).
		ThenState(func(t testing.TB, c *domain.Customer) {
			if ok, _ := c.CanOrder(); !ok {
				t.Error("an enabled customer cannot order")
			}
		})
	aggregatetest.Given(t, domain.New("c-1"), reg).
		When(func(c *domain.Customer) error { return c.Enable() }).
		Then()
}
