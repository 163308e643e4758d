// Package app is the inventory context's use cases: receive and adjust
// stock, and reserve, release and commit it for orders. Each change saves
// the stock's events, the order's reservation rows and the StockChanged
// events (and a command's reply) in one transaction.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/examples/shop/inventory/api"
	"github.com/eventual-go/eventual/examples/shop/inventory/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/transport"
)

// SnapshotEvery is how many events of a stock go between two snapshots:
// few, because a popular product is loaded for every order that takes it
// (the snapshot is written in the background, after the commit).
const SnapshotEvery = 10

// Reasons of StockChanged and of failed reservations.
const (
	ReasonReceived  = "received"
	ReasonAdjusted  = "adjusted"
	ReasonReserved  = "reserved"
	ReasonReleased  = "released"
	ReasonCommitted = "committed"

	ReasonInsufficient = "insufficient stock"
	ReasonUnknown      = "unknown product"
)

// States of a reservation line. Failed records a reservation that was
// refused (nothing was reserved), so that the same command answers the
// same; a released order without lines (released before any reservation
// came) has one line without a product.
const (
	StateReserved  = "reserved"
	StateReleased  = "released"
	StateCommitted = "committed"
	StateFailed    = "failed"
)

// Reservation is one line of an order's reservation.
type Reservation struct {
	ProductID string
	Quantity  int64
	State     string
	// Reason and Available tell why a failed reservation failed.
	Reason    string
	Available int64
}

// App runs the use cases.
type App struct {
	store  platform.Store
	repo   *aggregate.Repository[*domain.Stock]
	outbox *outbox.Outbox
	log    *slog.Logger
}

// New returns the use cases over the module's store and outbox.
func New(store platform.Store, ob *outbox.Outbox, log *slog.Logger) (*App, error) {
	b := codec.New()
	domain.Register(b)
	reg, err := b.Build()
	if err != nil {
		return nil, err
	}
	repo, err := aggregate.NewRepository(store, reg, "stock", domain.New,
		aggregate.WithSnapshots(store, aggregate.EveryNEvents(SnapshotEvery)),
		aggregate.WithCache(platform.CachedAggregates))
	if err != nil {
		return nil, err
	}
	return &App{store: store, repo: repo, outbox: ob, log: log}, nil
}

// Migrate creates the context's tables.
func (a *App) Migrate(ctx context.Context) error {
	return a.store.InTx(ctx, func(tx eventual.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS inventory_reservations (
			order_id TEXT NOT NULL,
			product_id TEXT NOT NULL,
			quantity BIGINT NOT NULL,
			state TEXT NOT NULL,
			reason TEXT NOT NULL DEFAULT '',
			available BIGINT NOT NULL DEFAULT 0,
			updated_at BIGINT NOT NULL,
			PRIMARY KEY (order_id, product_id))`)
		return err
	})
}

// Receive adds quantity on hand of a product, starting its stock if it
// has none. Errors: the domain's.
func (a *App) Receive(ctx context.Context, productID string, quantity int64) (*domain.Stock, error) {
	return a.update(ctx, productID, true, func(s *domain.Stock) error { return s.Receive(quantity) })
}

// Adjust corrects the count on hand of a product by delta, for a reason.
// Errors: platform.ErrNotFound; domain.ErrBelowReserved and the domain's.
func (a *App) Adjust(ctx context.Context, productID string, delta int64, reason string) (*domain.Stock, error) {
	return a.update(ctx, productID, false, func(s *domain.Stock) error { return s.Adjust(delta, reason) })
}

// SetOnHand corrects the count on hand of a product to onHand, for a
// reason. Errors: those of Adjust.
func (a *App) SetOnHand(ctx context.Context, productID string, onHand int64, reason string) (*domain.Stock, error) {
	return a.update(ctx, productID, false, func(s *domain.Stock) error { return s.SetOnHand(onHand, reason) })
}

// Get returns a product's stock. Errors: platform.ErrNotFound.
func (a *App) Get(ctx context.Context, productID string) (*domain.Stock, error) {
	return platform.Load(ctx, a.repo, productID, "no stock of product "+productID)
}

// Reservations returns the lines of an order's reservation. Errors:
// platform.ErrNotFound when the order has none.
func (a *App) Reservations(ctx context.Context, orderID string) ([]Reservation, error) {
	rows, err := a.store.Query(ctx, `SELECT product_id, quantity, state, reason, available
		FROM inventory_reservations WHERE order_id = $1 ORDER BY product_id`, orderID)
	if err != nil {
		return nil, err
	}
	lines, err := scanReservations(rows)
	if err == nil && len(lines) == 0 {
		err = fmt.Errorf("%w: no reservation for order %s", platform.ErrNotFound, orderID)
	}
	return lines, err
}

// update runs change in a transaction of its own, again on a conflict.
func (a *App) update(ctx context.Context, productID string, create bool, change func(*domain.Stock) error) (*domain.Stock, error) {
	var out *domain.Stock
	var err error
	for range 3 {
		err = a.store.InTx(ctx, func(tx eventual.Tx) error {
			s, err := a.load(ctx, tx, productID, create)
			if err != nil {
				return err
			}
			reason := ReasonAdjusted
			if create {
				reason = ReasonReceived
			}
			m, err := a.change(ctx, tx, s, reason, "", change)
			if err != nil || m == nil {
				out = s
				return err
			}
			out = s
			return a.outbox.Add(ctx, tx, *m)
		})
		if !errors.Is(err, eventual.ErrConflict) {
			break
		}
	}
	return out, err
}

// load loads a product's stock in tx; with create, a product without one
// gets an empty one. Errors: platform.ErrNotFound, the store's.
func (a *App) load(ctx context.Context, tx eventual.Tx, productID string, create bool) (*domain.Stock, error) {
	s, err := a.repo.LoadTx(ctx, tx, productID)
	if errors.Is(err, aggregate.ErrNotFound) {
		if create {
			return a.repo.New(productID), nil
		}
		return nil, fmt.Errorf("%w: no stock of product %s", platform.ErrNotFound, productID)
	}
	return s, err
}

// change lets fn change s, saves its events in tx and returns the
// StockChanged message to send (nil when nothing changed).
func (a *App) change(ctx context.Context, tx eventual.Tx, s *domain.Stock, reason, orderID string, fn func(*domain.Stock) error) (*transport.Message, error) {
	before := s.Version()
	if err := fn(s); err != nil || s.Version() == before {
		return nil, err
	}
	if err := a.repo.SaveTx(ctx, tx, s); err != nil {
		return nil, err
	}
	m, err := platform.Message(ctx, api.SubjectStockChanged, api.TypeStockChanged, s.ID(), api.StockChanged{
		ProductID: s.ID(), OnHand: s.OnHand, Reserved: s.Reserved, Available: s.Available(), Reason: reason, OrderID: orderID})
	return &m, err
}

// reservations reads an order's reservation lines in tx.
func (a *App) reservations(ctx context.Context, tx eventual.Tx, orderID string) ([]Reservation, error) {
	rows, err := tx.Query(ctx, `SELECT product_id, quantity, state, reason, available
		FROM inventory_reservations WHERE order_id = $1 ORDER BY product_id`, orderID)
	if err != nil {
		return nil, err
	}
	return scanReservations(rows)
}

func scanReservations(rows eventual.Rows) ([]Reservation, error) {
	defer rows.Close()
	var out []Reservation
	for rows.Next() {
		var r Reservation
		if err := rows.Scan(&r.ProductID, &r.Quantity, &r.State, &r.Reason, &r.Available); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// insert adds reservation lines of an order in tx.
func insert(ctx context.Context, tx eventual.Tx, orderID string, lines []Reservation) error {
	var q strings.Builder
	q.WriteString("INSERT INTO inventory_reservations (order_id, product_id, quantity, state, reason, available, updated_at) VALUES ")
	args := make([]any, 0, 7*len(lines))
	now := time.Now().UnixMicro()
	for i, l := range lines {
		if i > 0 {
			q.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
		args = append(args, orderID, l.ProductID, l.Quantity, l.State, l.Reason, l.Available, now)
	}
	_, err := tx.Exec(ctx, q.String(), args...)
	return err
}

// Reserve answers a ReserveStock command in tx: every line reserved, or
// none (the reply names the product short). The order's lines are
// recorded, so that the command sent again answers the same and changes
// nothing, and a reservation of an order already released is refused.
func (a *App) Reserve(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	cmd, err := platform.Decode[api.ReserveStock](d)
	if err != nil {
		return err
	}
	done := func(msgs ...transport.Message) error {
		return a.reply(ctx, tx, d, api.TypeStockReserved, api.StockReply{OrderID: cmd.OrderID}, msgs...)
	}
	failed := func(r api.StockReply) error {
		r.OrderID = cmd.OrderID
		return a.reply(ctx, tx, d, api.TypeStockUnavailable, r)
	}
	lines, why := sumLines(cmd.Lines)
	if strings.TrimSpace(cmd.OrderID) == "" {
		why = "no order ID"
	}
	if why != "" {
		return failed(api.StockReply{Reason: why})
	}

	existing, err := a.reservations(ctx, tx, cmd.OrderID)
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		switch r := existing[0]; r.State {
		case StateFailed:
			return failed(api.StockReply{ProductID: r.ProductID, Requested: r.Quantity, Available: r.Available, Reason: r.Reason})
		case StateReleased:
			return failed(api.StockReply{Reason: ReasonReleased})
		}
		return done() // reserved already (or committed since)
	}

	stocks := make([]*domain.Stock, len(lines))
	for i, l := range lines {
		s, err := a.repo.LoadTx(ctx, tx, l.ProductID)
		short := Reservation{ProductID: l.ProductID, Quantity: l.Quantity, State: StateFailed}
		switch {
		case errors.Is(err, aggregate.ErrNotFound):
			short.Reason = ReasonUnknown
		case err != nil:
			return err
		case s.Available() < l.Quantity:
			short.Reason, short.Available = ReasonInsufficient, s.Available()
		}
		if short.Reason != "" {
			if err := insert(ctx, tx, cmd.OrderID, []Reservation{short}); err != nil {
				return err
			}
			return failed(api.StockReply{ProductID: short.ProductID, Requested: short.Quantity, Available: short.Available, Reason: short.Reason})
		}
		stocks[i] = s
	}
	msgs := make([]transport.Message, 0, len(lines)+1)
	for i, l := range lines {
		m, err := a.change(ctx, tx, stocks[i], ReasonReserved, cmd.OrderID, func(s *domain.Stock) error {
			return s.Reserve(cmd.OrderID, l.Quantity)
		})
		if err != nil {
			return err
		}
		msgs = append(msgs, *m)
		lines[i].State = StateReserved
	}
	if err := insert(ctx, tx, cmd.OrderID, lines); err != nil {
		return err
	}
	return done(msgs...)
}

// sumLines adds up the lines of each product, in product order, or says
// what is wrong with them.
func sumLines(lines []api.Line) ([]Reservation, string) {
	if len(lines) == 0 {
		return nil, "no lines"
	}
	var out []Reservation
	for _, l := range lines {
		if strings.TrimSpace(l.ProductID) == "" || l.Quantity <= 0 {
			return nil, "invalid line: a product ID and a positive quantity are required"
		}
		i := slices.IndexFunc(out, func(r Reservation) bool { return r.ProductID == l.ProductID })
		if i < 0 {
			out = append(out, Reservation{ProductID: l.ProductID})
			i = len(out) - 1
		}
		out[i].Quantity += l.Quantity
	}
	slices.SortFunc(out, func(x, y Reservation) int { return strings.Compare(x.ProductID, y.ProductID) })
	return out, ""
}

// Release answers a ReleaseStock command in tx: what the order still has
// reserved goes back to stock. It answers ".done" even when there is
// nothing to release; an order released before it reserved anything is
// recorded as released, so that a late ReserveStock is refused.
func (a *App) Release(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	cmd, err := platform.Decode[api.ReleaseStock](d)
	if err != nil {
		return err
	}
	var msgs []transport.Message
	if strings.TrimSpace(cmd.OrderID) != "" {
		existing, err := a.reservations(ctx, tx, cmd.OrderID)
		if err != nil {
			return err
		}
		if len(existing) == 0 {
			err = insert(ctx, tx, cmd.OrderID, []Reservation{{State: StateReleased, Reason: "released before any reservation"}})
		} else {
			msgs, err = a.settle(ctx, tx, cmd.OrderID, existing, StateReleased)
		}
		if err != nil {
			return err
		}
	}
	return a.reply(ctx, tx, d, api.TypeStockReleased, api.StockReply{OrderID: cmd.OrderID}, msgs...)
}

// Commit answers a CommitStock command in tx: what the order has reserved
// leaves the stock for good. It answers ".done" even when there is nothing
// to commit.
func (a *App) Commit(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
	cmd, err := platform.Decode[api.CommitStock](d)
	if err != nil {
		return err
	}
	msgs, err := a.CommitOrder(ctx, tx, cmd.OrderID)
	if err != nil {
		return err
	}
	return a.reply(ctx, tx, d, api.TypeStockCommitted, api.StockReply{OrderID: cmd.OrderID}, msgs...)
}

// CommitOrder commits what an order has reserved, in tx, and returns the
// StockChanged messages to send (it sends none itself).
func (a *App) CommitOrder(ctx context.Context, tx eventual.Tx, orderID string) ([]transport.Message, error) {
	if strings.TrimSpace(orderID) == "" {
		return nil, nil
	}
	existing, err := a.reservations(ctx, tx, orderID)
	if err != nil {
		return nil, err
	}
	return a.settle(ctx, tx, orderID, existing, StateCommitted)
}

// settle releases or commits (to) the reserved lines of an order.
func (a *App) settle(ctx context.Context, tx eventual.Tx, orderID string, lines []Reservation, to string) ([]transport.Message, error) {
	var msgs []transport.Message
	for _, l := range lines {
		if l.State != StateReserved {
			continue
		}
		s, err := a.load(ctx, tx, l.ProductID, false)
		if err != nil {
			return nil, err
		}
		m, err := a.change(ctx, tx, s, to, orderID, func(s *domain.Stock) error {
			if to == StateCommitted {
				return s.Commit(orderID, l.Quantity)
			}
			return s.Release(orderID, l.Quantity)
		})
		if err != nil {
			return nil, err
		}
		if m != nil {
			msgs = append(msgs, *m)
		}
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	_, err := tx.Exec(ctx, `UPDATE inventory_reservations SET state = $1, updated_at = $2 WHERE order_id = $3 AND state = $4`,
		to, time.Now().UnixMicro(), orderID, StateReserved)
	return msgs, err
}

// ShipmentShipped commits the reservation of the order a shipment is for,
// in tx, and sends the StockChanged events.
func (a *App) ShipmentShipped(ctx context.Context, tx eventual.Tx, orderID string) error {
	msgs, err := a.CommitOrder(ctx, tx, orderID)
	if err != nil || len(msgs) == 0 {
		return err
	}
	return a.outbox.Add(ctx, tx, msgs...)
}

// reply adds the reply to d, after msgs, to the outbox in tx.
func (a *App) reply(ctx context.Context, tx eventual.Tx, d transport.Delivery, typ string, r api.StockReply, msgs ...transport.Message) error {
	m, err := platform.ReplyMessage(d, typ, r)
	if err != nil {
		return err
	}
	return a.outbox.Add(ctx, tx, append(msgs, m)...)
}
