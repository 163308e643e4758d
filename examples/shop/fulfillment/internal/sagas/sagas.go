// Package sagas defines the fulfillment context's two sagas: fulfillment
// (authorize customer → reserve stock → authorize payment → create
// shipment → capture payment → confirm order → notify, compensating in
// reverse) and cancellation (cancel shipment, refund payment, release
// stock) of a confirmed order.
package sagas

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/eventual-go/eventual"
	customersapi "github.com/eventual-go/eventual/examples/shop/customers/api"
	fulfillmentapi "github.com/eventual-go/eventual/examples/shop/fulfillment/api"
	inventoryapi "github.com/eventual-go/eventual/examples/shop/inventory/api"
	orderingapi "github.com/eventual-go/eventual/examples/shop/ordering/api"
	paymentsapi "github.com/eventual-go/eventual/examples/shop/payments/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	shippingapi "github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/saga"
	"github.com/eventual-go/eventual/transport"
)

// Names of the sagas.
const (
	Fulfillment  = "fulfillment"
	Cancellation = "cancellation"
)

// Order is the fulfillment saga's data: the order as placed, and what the
// steps learned.
type Order struct {
	Order          orderingapi.OrderPlaced `json:"order"`
	PaymentID      string                  `json:"payment_id,omitempty"`
	ShipmentID     string                  `json:"shipment_id,omitempty"`
	TrackingNumber string                  `json:"tracking_number,omitempty"`
	// Reason says why the order is rejected, when it is.
	Reason string `json:"reason,omitempty"`
}

// Clone implements eventual.Cloner (saga.WithStateCache): the order's
// lines are the only memory a copy would share.
func (o Order) Clone() Order {
	o.Order.Lines = slices.Clone(o.Order.Lines)
	return o
}

// Timing is how long a step waits for its reply and how often it tries.
type Timing struct {
	Timeout  time.Duration
	Attempts int
	Backoff  time.Duration
}

// msg builds a command as a saga.CommandFunc needs it.
func msg(subject, typ, key string, v any) (transport.Message, error) {
	return platform.Message(context.Background(), subject, typ, key, v)
}

// because keeps a failure reply's reason in the saga's data.
func because(prefix string) saga.ReplyFunc[Order] {
	return func(_ context.Context, o *Order, r transport.Delivery) error {
		var body struct {
			Reason    string `json:"reason"`
			ProductID string `json:"product_id"`
			Status    string `json:"status"`
		}
		_ = json.Unmarshal(r.Data, &body)
		reason := prefix
		switch {
		case body.Reason != "":
			reason += ": " + body.Reason
		case body.Status != "":
			reason += ": order " + body.Status
		}
		if body.ProductID != "" {
			reason += " (product " + body.ProductID + ")"
		}
		o.Reason = reason
		return nil
	}
}

// FulfillmentSaga defines the fulfillment saga. ob sends the notify step's
// event.
func FulfillmentSaga(t Timing, ob *outbox.Outbox) (*saga.Definition[Order], error) {
	backoff := func(int) time.Duration { return t.Backoff }
	step := func(sb *saga.StepBuilder[Order]) *saga.StepBuilder[Order] {
		return sb.Timeout(t.Timeout).Retry(t.Attempts, backoff)
	}
	b := saga.Define[Order](Fulfillment)
	// Step 0 holds the order: its compensation, last of all, rejects it.
	step(b.Step("accept-order").
		Local(func(context.Context, eventual.Tx, *Order) error { return nil }).
		Compensate(func(_ context.Context, o *Order) (transport.Message, error) {
			reason := o.Reason
			if reason == "" {
				reason = "the order could not be fulfilled in time"
			}
			return msg(orderingapi.SubjectRejectOrder, orderingapi.TypeRejectOrder, o.Order.OrderID,
				orderingapi.RejectOrder{OrderID: o.Order.OrderID, Reason: reason})
		}).
		OnCompensationReply(orderingapi.TypeOrderRejectDone, nil))
	step(b.Step("authorize-customer").
		Command(func(_ context.Context, o *Order) (transport.Message, error) {
			return msg(customersapi.SubjectAuthorizeCustomer, customersapi.TypeAuthorizeCustomer, o.Order.OrderID,
				customersapi.AuthorizeCustomer{CustomerID: o.Order.CustomerID, OrderID: o.Order.OrderID})
		}).
		OnReply(customersapi.TypeCustomerAuthorized, nil).
		OnFailure(customersapi.TypeCustomerNotAuthorized, because("customer not authorized")))
	step(b.Step("reserve-stock").
		Command(func(_ context.Context, o *Order) (transport.Message, error) {
			lines := make([]inventoryapi.Line, len(o.Order.Lines))
			for i, l := range o.Order.Lines {
				lines[i] = inventoryapi.Line{ProductID: l.ProductID, Quantity: l.Quantity}
			}
			return msg(inventoryapi.SubjectReserveStock, inventoryapi.TypeReserveStock, o.Order.OrderID,
				inventoryapi.ReserveStock{OrderID: o.Order.OrderID, Lines: lines})
		}).
		OnReply(inventoryapi.TypeStockReserved, nil).
		OnFailure(inventoryapi.TypeStockUnavailable, because("out of stock")).
		Compensate(func(_ context.Context, o *Order) (transport.Message, error) {
			return msg(inventoryapi.SubjectReleaseStock, inventoryapi.TypeReleaseStock, o.Order.OrderID,
				inventoryapi.ReleaseStock{OrderID: o.Order.OrderID})
		}).
		OnCompensationReply(inventoryapi.TypeStockReleased, nil))
	step(b.Step("authorize-payment").
		Command(func(_ context.Context, o *Order) (transport.Message, error) {
			return msg(paymentsapi.SubjectAuthorizePayment, paymentsapi.TypeAuthorizePayment, o.Order.OrderID,
				paymentsapi.AuthorizePayment{OrderID: o.Order.OrderID, CustomerID: o.Order.CustomerID,
					Amount: o.Order.Total, Token: o.Order.PaymentToken})
		}).
		OnReply(paymentsapi.TypePaymentAuthorizedReply, func(_ context.Context, o *Order, r transport.Delivery) error {
			var p paymentsapi.PaymentReply
			if err := json.Unmarshal(r.Data, &p); err != nil {
				return fmt.Errorf("payment reply: %w", err)
			}
			o.PaymentID = p.PaymentID
			return nil
		}).
		OnFailure(paymentsapi.TypePaymentDeclinedReply, because("payment declined")).
		Compensate(func(_ context.Context, o *Order) (transport.Message, error) {
			return msg(paymentsapi.SubjectCancelPayment, paymentsapi.TypeCancelPayment, o.Order.OrderID,
				paymentsapi.CancelPayment{OrderID: o.Order.OrderID, Reason: o.Reason})
		}).
		OnCompensationReply(paymentsapi.TypePaymentCancelledReply, nil))
	step(b.Step("create-shipment").
		Command(func(_ context.Context, o *Order) (transport.Message, error) {
			items := make([]shippingapi.Item, len(o.Order.Lines))
			for i, l := range o.Order.Lines {
				items[i] = shippingapi.Item{ProductID: l.ProductID, Quantity: l.Quantity}
			}
			return msg(shippingapi.SubjectCreateShipment, shippingapi.TypeCreateShipment, o.Order.OrderID,
				shippingapi.CreateShipment{OrderID: o.Order.OrderID, Address: o.Order.ShippingAddress, Items: items})
		}).
		OnReply(shippingapi.TypeShipmentCreatedReply, func(_ context.Context, o *Order, r transport.Delivery) error {
			var s shippingapi.ShipmentReply
			if err := json.Unmarshal(r.Data, &s); err != nil {
				return fmt.Errorf("shipment reply: %w", err)
			}
			o.ShipmentID, o.TrackingNumber = s.ShipmentID, s.TrackingNumber
			return nil
		}).
		OnFailure(shippingapi.TypeShippingUnavailable, because("shipping unavailable")).
		Compensate(func(_ context.Context, o *Order) (transport.Message, error) {
			return msg(shippingapi.SubjectCancelShipment, shippingapi.TypeCancelShipment, o.Order.OrderID,
				shippingapi.CancelShipment{OrderID: o.Order.OrderID})
		}).
		OnCompensationReply(shippingapi.TypeShipmentCancelledReply, nil))
	step(b.Step("capture-payment").
		Command(func(_ context.Context, o *Order) (transport.Message, error) {
			return msg(paymentsapi.SubjectCapturePayment, paymentsapi.TypeCapturePayment, o.Order.OrderID,
				paymentsapi.CapturePayment{OrderID: o.Order.OrderID})
		}).
		OnReply(paymentsapi.TypePaymentCapturedReply, nil).
		OnFailure(paymentsapi.TypeCaptureFailedReply, because("payment capture failed")))
	step(b.Step("confirm-order").
		Command(func(_ context.Context, o *Order) (transport.Message, error) {
			return msg(orderingapi.SubjectConfirmOrder, orderingapi.TypeConfirmOrder, o.Order.OrderID,
				orderingapi.ConfirmOrder{OrderID: o.Order.OrderID, TrackingNumber: o.TrackingNumber})
		}).
		OnReply(orderingapi.TypeOrderConfirmDone, nil).
		OnFailure(orderingapi.TypeOrderConfirmFailed, because("order not confirmable")))
	// Telling the customer cannot fail the order: an event, in the
	// saga's own transaction; notifications does the rest.
	step(b.Step("notify").
		Local(func(ctx context.Context, tx eventual.Tx, o *Order) error {
			m, err := platform.Message(ctx, fulfillmentapi.SubjectOrderFulfilled, fulfillmentapi.TypeOrderFulfilled, o.Order.OrderID,
				fulfillmentapi.OrderFulfilled{OrderID: o.Order.OrderID, CustomerID: o.Order.CustomerID, Total: o.Order.Total,
					PaymentID: o.PaymentID, ShipmentID: o.ShipmentID, TrackingNumber: o.TrackingNumber})
			if err != nil {
				return saga.Fail(err)
			}
			return ob.Add(ctx, tx, m)
		}))
	return b.Build()
}

// Cancelled is the cancellation saga's data.
type Cancelled struct {
	Order orderingapi.OrderCancelled `json:"order"`
}

// CancellationSaga defines the saga that undoes a confirmed order the
// customer cancelled: cancel its shipment, refund its payment, release its
// stock. Each command is idempotent and retried; nothing is compensated
// (there is nothing to undo an undo with): a step that keeps failing ends
// the saga as failed, for a person to look at.
func CancellationSaga(t Timing) (*saga.Definition[Cancelled], error) {
	backoff := func(int) time.Duration { return t.Backoff }
	attempts := max(t.Attempts, 10)
	b := saga.Define[Cancelled](Cancellation)
	b.Step("cancel-shipment").
		Command(func(_ context.Context, c *Cancelled) (transport.Message, error) {
			return msg(shippingapi.SubjectCancelShipment, shippingapi.TypeCancelShipment, c.Order.OrderID,
				shippingapi.CancelShipment{OrderID: c.Order.OrderID})
		}).
		OnReply(shippingapi.TypeShipmentCancelledReply, nil).
		Timeout(t.Timeout).Retry(attempts, backoff)
	b.Step("refund-payment").
		Command(func(_ context.Context, c *Cancelled) (transport.Message, error) {
			return msg(paymentsapi.SubjectCancelPayment, paymentsapi.TypeCancelPayment, c.Order.OrderID,
				paymentsapi.CancelPayment{OrderID: c.Order.OrderID, Reason: "order cancelled: " + c.Order.Reason})
		}).
		OnReply(paymentsapi.TypePaymentCancelledReply, nil).
		Timeout(t.Timeout).Retry(attempts, backoff)
	b.Step("release-stock").
		Command(func(_ context.Context, c *Cancelled) (transport.Message, error) {
			return msg(inventoryapi.SubjectReleaseStock, inventoryapi.TypeReleaseStock, c.Order.OrderID,
				inventoryapi.ReleaseStock{OrderID: c.Order.OrderID})
		}).
		OnReply(inventoryapi.TypeStockReleased, nil).
		Timeout(t.Timeout).Retry(attempts, backoff)
	return b.Build()
}
