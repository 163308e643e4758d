package codec_test

import (
	"fmt"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/codec"
)

// ItemAdded is version 2 of an event: quantity became a number.
type ItemAdded struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// ItemAddedV1 stored the quantity as text.
type ItemAddedV1 struct {
	SKU      string `json:"sku"`
	Quantity string `json:"qty"`
}

// Events written by an older version of the program are upcast when read.
func Example_upcasting() {
	b := codec.New()
	codec.Register[ItemAdded](b, "cart.item_added", codec.Version(2),
		codec.UpcastType(1, func(old ItemAddedV1) (ItemAdded, error) {
			var n int
			_, err := fmt.Sscan(old.Quantity, &n)
			return ItemAdded{SKU: old.SKU, Quantity: n}, err
		}))
	reg, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}

	stored := eventual.RecordedEvent{Type: "cart.item_added", SchemaVersion: 1, Data: []byte(`{"sku":"B-42","qty":"3"}`)}
	ev, err := reg.Decode(stored)
	fmt.Printf("%+v %v\n", ev, err)

	data, _ := reg.Encode(ItemAdded{SKU: "B-42", Quantity: 4})
	fmt.Println(data.Type, data.SchemaVersion, string(data.Data))
	// Output:
	// {SKU:B-42 Quantity:3} <nil>
	// cart.item_added 2 {"sku":"B-42","quantity":4}
}
