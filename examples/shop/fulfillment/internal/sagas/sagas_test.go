package sagas

import (
	"reflect"
	"testing"

	orderingapi "github.com/eventual-go/eventual/examples/shop/ordering/api"
)

func TestOrderCloneSharesNothing(t *testing.T) {
	o := Order{Order: orderingapi.OrderPlaced{OrderID: "o-1", Lines: []orderingapi.OrderLine{{ProductID: "p-1", Quantity: 2}}}, PaymentID: "pay-1"}
	c := o.Clone()
	if !reflect.DeepEqual(c, o) {
		t.Fatalf("clone %+v differs from %+v", c, o)
	}
	c.Order.Lines[0].Quantity = 9
	c.PaymentID = "pay-2"
	if o.Order.Lines[0].Quantity != 2 || o.PaymentID != "pay-1" {
		t.Fatalf("changing the clone changed the original: %+v", o)
	}
}
