// Package domain is the notifications context's model: what a
// notification is, who sends it (Sender), and what the customer is told
// about each event of their order. No I/O.
package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/eventual-go/eventual/examples/shop/kernel"
)

// Channels a notification goes through.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// ErrUnknownCustomer: the customer's contact is not known (yet).
var ErrUnknownCustomer = errors.New("unknown customer")

// ErrSendFailed is matched by the default sender's failures.
var ErrSendFailed = errors.New("notification not sent")

// Notification is one message to a customer through one channel.
type Notification struct {
	// ID is the notification's identity, the same on every attempt to
	// send it: the ID of the event it tells about and the channel. An
	// external sender dedupes with it.
	ID         string `json:"id"`
	CustomerID string `json:"customer_id"`
	OrderID    string `json:"order_id"`
	// Channel is ChannelEmail or ChannelSMS; To the address or number.
	Channel string `json:"channel"`
	To      string `json:"to"`
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body"`
}

// Sender sends notifications: an email service, an SMS gateway. An error
// has the notification tried again later (see the module's retry policy).
type Sender interface {
	Send(ctx context.Context, n Notification) error
}

// RecordingSender is the default sender: it sends nothing anywhere (the
// module's log of notifications, written in the same transaction, is the
// record), except that it fails for email addresses starting with
// "fail@" — the test rule.
type RecordingSender struct{}

// Send implements Sender. Errors: ErrSendFailed for an email address
// starting with "fail@".
func (RecordingSender) Send(_ context.Context, n Notification) error {
	if n.Channel == ChannelEmail && strings.HasPrefix(n.To, "fail@") {
		return fmt.Errorf("%w: %s refuses mail (test rule)", ErrSendFailed, n.To)
	}
	return nil
}

// Contact is how to reach a customer.
type Contact struct {
	CustomerID string
	Name       string
	Email      string
	SMSNumber  string
}

// Message is what to tell a customer about their order.
type Message struct {
	OrderID string
	Subject string
	Body    string
}

// Confirmed is the message of a fulfilled order.
func Confirmed(orderID string, total kernel.Money, tracking string) Message {
	body := fmt.Sprintf("Your order %s of %s is confirmed.", orderID, total)
	if tracking != "" {
		body += " Tracking number: " + tracking + "."
	}
	return Message{OrderID: orderID, Subject: "Your order is confirmed", Body: body}
}

// Rejected is the message of an order that could not be fulfilled.
func Rejected(orderID, reason string) Message {
	body := fmt.Sprintf("We could not fulfill your order %s", orderID)
	if reason != "" {
		body += ": " + reason
	}
	return Message{OrderID: orderID, Subject: "Your order could not be fulfilled", Body: body + "."}
}

// Cancelled is the message of an order the customer cancelled.
func Cancelled(orderID string, total kernel.Money) Message {
	return Message{OrderID: orderID, Subject: "Your order is cancelled",
		Body: fmt.Sprintf("Your order %s is cancelled; %s will be refunded.", orderID, total)}
}

// Shipped is the message of an order that left.
func Shipped(orderID, tracking string) Message {
	return Message{OrderID: orderID, Subject: "Your order has shipped",
		Body: fmt.Sprintf("Your order %s has shipped. Tracking number: %s.", orderID, tracking)}
}

// Delivered is the message of an order that arrived.
func Delivered(orderID string) Message {
	return Message{OrderID: orderID, Subject: "Your order was delivered",
		Body: fmt.Sprintf("Your order %s was delivered. Enjoy!", orderID)}
}

// Notifications returns the notifications of m to c for the event
// eventID: an email, and an SMS if c has a number. Errors:
// ErrUnknownCustomer for a contact without an email.
func (m Message) Notifications(eventID string, c Contact) ([]Notification, error) {
	if c.Email == "" {
		return nil, fmt.Errorf("%w: %s", ErrUnknownCustomer, c.CustomerID)
	}
	out := []Notification{{ID: eventID + "-" + ChannelEmail, CustomerID: c.CustomerID, OrderID: m.OrderID,
		Channel: ChannelEmail, To: c.Email, Subject: m.Subject, Body: greet(c.Name) + m.Body}}
	if c.SMSNumber != "" {
		out = append(out, Notification{ID: eventID + "-" + ChannelSMS, CustomerID: c.CustomerID, OrderID: m.OrderID,
			Channel: ChannelSMS, To: c.SMSNumber, Body: m.Body})
	}
	return out, nil
}

func greet(name string) string {
	if name == "" {
		return "Hello,\n\n"
	}
	return "Hello " + name + ",\n\n"
}
