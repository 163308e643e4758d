// Package api is the public contract of the customers context: the
// integration events it publishes and the commands it answers. Other
// contexts import this package only.
package api

// Integration events, published on "customers.events.<name>".
const (
	SubjectCustomerRegistered = "customers.events.customer_registered"
	TypeCustomerRegistered    = "customers.customer_registered"

	SubjectContactChanged = "customers.events.contact_changed"
	TypeContactChanged    = "customers.contact_changed"

	SubjectCustomerEnabled = "customers.events.customer_enabled"
	TypeCustomerEnabled    = "customers.customer_enabled"

	SubjectCustomerDisabled = "customers.events.customer_disabled"
	TypeCustomerDisabled    = "customers.customer_disabled"

	// EventsSubjects matches every event of the context.
	EventsSubjects = "customers.events.>"
)

// CustomerRegistered: a customer signed up.
type CustomerRegistered struct {
	CustomerID string `json:"customer_id"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	SMSNumber  string `json:"sms_number,omitempty"`
}

// ContactChanged: a customer's email or SMS number changed.
type ContactChanged struct {
	CustomerID string `json:"customer_id"`
	Email      string `json:"email"`
	SMSNumber  string `json:"sms_number,omitempty"`
}

// CustomerEnabled and CustomerDisabled: whether the customer may order.
type CustomerEnabled struct {
	CustomerID string `json:"customer_id"`
}

// CustomerDisabled: the customer may no longer order.
type CustomerDisabled struct {
	CustomerID string `json:"customer_id"`
	Reason     string `json:"reason,omitempty"`
}

// Commands, sent to "customers.commands.<name>"; the replies go to the
// command's reply subject, with the command's type plus ".done" or
// ".failed".
const (
	SubjectAuthorizeCustomer  = "customers.commands.authorize_customer"
	TypeAuthorizeCustomer     = "customers.authorize_customer"
	TypeCustomerAuthorized    = TypeAuthorizeCustomer + ".done"
	TypeCustomerNotAuthorized = TypeAuthorizeCustomer + ".failed"

	// CommandsSubjects matches every command of the context.
	CommandsSubjects = "customers.commands.>"
)

// AuthorizeCustomer asks whether a customer may place an order: it exists
// and is enabled. Replies: CustomerAuthorized (".done") or
// CustomerNotAuthorized (".failed").
type AuthorizeCustomer struct {
	CustomerID string `json:"customer_id"`
	OrderID    string `json:"order_id"`
}

// AuthorizeReply answers AuthorizeCustomer; Reason says why not.
type AuthorizeReply struct {
	CustomerID string `json:"customer_id"`
	OrderID    string `json:"order_id"`
	Reason     string `json:"reason,omitempty"`
}
