// Package api is the public contract of the inventory context: stock
// levels as events, and the commands that reserve, release and commit
// stock for an order.
package api

// Integration events, published on "inventory.events.<name>", keyed by
// product ID.
const (
	SubjectStockChanged = "inventory.events.stock_changed"
	TypeStockChanged    = "inventory.stock_changed"

	// EventsSubjects matches every event of the context.
	EventsSubjects = "inventory.events.>"
)

// StockChanged: a product's stock after a change, and why (received,
// adjusted, reserved, released, committed).
type StockChanged struct {
	ProductID string `json:"product_id"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
	Reason    string `json:"reason"`
	OrderID   string `json:"order_id,omitempty"`
}

// Commands, sent to "inventory.commands.<name>"; replies have the
// command's type plus ".done" or ".failed". Each is idempotent per order:
// sent again, it answers the same without changing anything twice.
const (
	SubjectReserveStock  = "inventory.commands.reserve_stock"
	TypeReserveStock     = "inventory.reserve_stock"
	TypeStockReserved    = TypeReserveStock + ".done"
	TypeStockUnavailable = TypeReserveStock + ".failed"

	SubjectReleaseStock = "inventory.commands.release_stock"
	TypeReleaseStock    = "inventory.release_stock"
	TypeStockReleased   = TypeReleaseStock + ".done"

	SubjectCommitStock = "inventory.commands.commit_stock"
	TypeCommitStock    = "inventory.commit_stock"
	TypeStockCommitted = TypeCommitStock + ".done"

	// CommandsSubjects matches every command of the context.
	CommandsSubjects = "inventory.commands.>"
)

// Line is a quantity of a product.
type Line struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

// ReserveStock reserves every line for an order, all or nothing. Replies:
// StockReply with ".done", or with ".failed" naming the product short.
type ReserveStock struct {
	OrderID string `json:"order_id"`
	Lines   []Line `json:"lines"`
}

// ReleaseStock gives back what an order reserved (nothing if it reserved
// nothing). Reply: ".done".
type ReleaseStock struct {
	OrderID string `json:"order_id"`
}

// CommitStock takes an order's reservation out of stock for good (it
// shipped). Reply: ".done".
type CommitStock struct {
	OrderID string `json:"order_id"`
}

// StockReply answers the stock commands.
type StockReply struct {
	OrderID   string `json:"order_id"`
	ProductID string `json:"product_id,omitempty"`
	Requested int64  `json:"requested,omitempty"`
	Available int64  `json:"available,omitempty"`
	Reason    string `json:"reason,omitempty"`
}
